import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containsPattern, pieces, rarestPiece } from '../../src/store/postgres/url-search.ts';

const SAMPLE = Array.from({ length: 100 }, (_, i) => `https://images.example.com/photos/${i % 10}/photo-${i * 7919}.jpg`);

describe('the Purges search on PostgreSQL: which piece of the text the trigram index is asked for', () => {
  it('cuts the text into its words, each with the character on either side', () => {
    assert.deepEqual(pieces('photos/12/photo-500000.jpg'), ['photos/', '/12/', '/photo-', '-500000.', '.jpg']);
    assert.deepEqual(pieces('ab'), [], 'too short to hold a trigram');
    assert.deepEqual(pieces('Ünïcode_ßx'), ['Ünïcode_', '_ßx']);
  });

  it('picks the piece the fewest sampled URLs contain, the longest of those', () => {
    assert.equal(rarestPiece('photo-500000.jpg', SAMPLE), '-500000.');
    assert.equal(rarestPiece('PHOTOS/3/PHOTO-123456.JPG', SAMPLE), '-123456.');
  });

  it('searches the whole text when no sample is taken yet, when the text is one piece, or when even its rarest piece is common', () => {
    assert.equal(rarestPiece('photo-500000.jpg', []), undefined);
    assert.equal(rarestPiece('500000', SAMPLE), undefined);
    assert.equal(rarestPiece('photo-.jpg', SAMPLE), undefined);
  });

  it('takes %, _ and backslash literally in the pattern', () => {
    assert.equal(containsPattern('a%b_c\\d'), '%a\\%b\\_c\\\\d%');
  });
});

/**
 * What the gallery shows: one section per parameter family, each a few request paths with a one-line
 * caption. Paths are written as a person would type them (spaces and non-ASCII text included); the builder
 * encodes them.
 */

export interface GallerySample {
  /** Path and query on the render listener, e.g. `/sunset.jpg?w=240`. */
  url: string;
  caption: string;
}

export interface GalleryFamily {
  /** Short, stable id: the section's anchor and the prefix of its files. */
  id: string;
  title: string;
  samples: readonly GallerySample[];
  /** The family shows parameters Pictor does not apply: `X-Pictor-Unsupported` is expected, not a defect. */
  expectUnsupported?: boolean;
}

const S = '/sunset.jpg?w=240';

export const FAMILIES: readonly GalleryFamily[] = [
  {
    id: 'size',
    title: 'Size, fit and crop',
    samples: [
      { url: S, caption: 'w alone keeps the proportions (fit=clip)' },
      { url: '/sunset.jpg?w=240&h=240&fit=crop', caption: 'fit=crop: exactly 240×240, centred' },
      { url: '/sunset.jpg?w=240&h=240&fit=crop&crop=left', caption: 'crop=left keeps the left edge' },
      { url: '/sunset.jpg?w=240&h=240&fit=crop&crop=entropy', caption: 'crop=entropy keeps the busiest part' },
      { url: '/sunset.jpg?w=240&h=240&fit=crop&crop=focalpoint&fp-x=0.8&fp-y=0.4&fp-z=2', caption: 'crop=focalpoint at (0.8, 0.4), zoom 2' },
      { url: '/sunset.jpg?w=240&h=240&fit=fill&fill-color=334455', caption: 'fit=fill letterboxes in fill-color' },
      { url: '/sunset.jpg?w=240&h=120&fit=scale', caption: 'fit=scale stretches to 240×120' },
      { url: '/sunset.jpg?w=240&ar=1:1&fit=crop', caption: 'ar=1:1 with fit=crop' },
      { url: '/sunset.jpg?w=120&dpr=2', caption: 'dpr=2 doubles w=120 to 240 px' },
      { url: '/sunset.jpg?w=200&rot=20&bg=ffffff', caption: 'rot=20 on a white bg' },
      { url: '/sunset.jpg?w=240&flip=h', caption: 'flip=h mirrors left to right' },
      { url: '/sunset.jpg?w=1000&h=500&fit=crop&max-w=200&max-h=150', caption: 'max-w and max-h cap the cropped output at 200×150' },
      { url: '/sunset.jpg?w=60&h=40&fit=crop&min-w=200&min-h=100', caption: 'min-w and min-h raise a 60×40 crop to 200×133' },
      { url: '/sunset.jpg?w=200&orient=3&rot=12&rot-type=straighten', caption: 'orient=3 turns it over; rot=12 with rot-type=straighten crops the corners' },
    ],
  },
  {
    id: 'rect-trim',
    title: 'rect and trim',
    samples: [
      { url: '/sunset.jpg?rect=600,300,600,400&w=240', caption: 'rect=600,300,600,400 cuts a region before resizing' },
      { url: '/framed.jpg?w=240', caption: 'the framed input, untrimmed' },
      { url: '/framed.jpg?trim=auto&w=240', caption: 'trim=auto removes the white frame' },
      { url: '/framed.jpg?trim=color&trim-color=fff&trim-pad=10&w=240', caption: 'trim=color with trim-pad=10' },
      { url: '/logo.png?trim=alpha&w=240', caption: 'trim=alpha removes transparent edges' },
      { url: '/framed.jpg?trim=auto&trim-md=20&trim-sd=15&w=240', caption: 'trim=auto with looser trim-md/trim-sd' },
      { url: '/framed.jpg?trim=color&trim-color=fff&trim-tol=30&w=240', caption: 'trim=color with trim-tol=30' },
    ],
  },
  {
    id: 'adjust',
    title: 'Adjustments',
    samples: [
      { url: `${S}&bri=30`, caption: 'bri=30 brightens' },
      { url: `${S}&con=60`, caption: 'con=60 adds contrast' },
      { url: `${S}&sat=-80`, caption: 'sat=-80 desaturates' },
      { url: `${S}&hue=120`, caption: 'hue=120 turns the hue' },
      { url: `${S}&gam=60`, caption: 'gam=60 lifts the mid-tones' },
      { url: `${S}&exp=-50`, caption: 'exp=-50 underexposes' },
      { url: `${S}&invert=true`, caption: 'invert=true' },
      { url: `${S}&sharp=80`, caption: 'sharp=80 sharpens' },
    ],
  },
  {
    id: 'tone',
    title: 'Tone and texture',
    samples: [
      { url: `${S}&duotone=000080,FFD700`, caption: 'duotone=000080,FFD700: navy shadows, gold highlights' },
      { url: `${S}&duotone=000080,FFD700&duotone-alpha=50`, caption: 'duotone-alpha=50 lets half the photo through' },
      { url: `${S}&usm=80&usmrad=4`, caption: 'usm=80&usmrad=4 unsharp mask' },
      { url: `${S}&high=-100`, caption: 'high=-100 darkens the highlights' },
      { url: `${S}&shad=100`, caption: 'shad=100 lifts the shadows' },
      { url: `${S}&vib=100`, caption: 'vib=100 saturates dull colours' },
      { url: `${S}&htn=40`, caption: 'htn=40 halftone dots' },
      { url: `${S}&nr=100&nrs=50`, caption: 'nr=100&nrs=50 noise reduction' },
      { url: `${S}&colorquant=6&fm=png`, caption: 'colorquant=6 (PNG keeps exactly 6 colours)' },
    ],
  },
  {
    id: 'stylize',
    title: 'Stylize',
    samples: [
      { url: `${S}&blur=60`, caption: 'blur=60' },
      { url: `${S}&px=12`, caption: 'px=12 pixelates' },
      { url: `${S}&sepia=90`, caption: 'sepia=90' },
      { url: `${S}&monochrome=3070c0`, caption: 'monochrome=3070c0 tints in one colour' },
      { url: `${S}&blur=5`, caption: 'blur=5: a slight softening (every value from 1 changes the image)' },
    ],
  },
  {
    id: 'canvas',
    title: 'Masks, corners, borders and padding',
    samples: [
      { url: '/sunset.jpg?w=240&h=240&fit=crop&mask=ellipse&fm=png', caption: 'mask=ellipse (transparent outside)' },
      { url: '/sunset.jpg?w=240&h=240&fit=crop&mask=corners&corner-radius=40&fm=png', caption: 'mask=corners&corner-radius=40' },
      { url: '/sunset.jpg?w=240&h=240&fit=crop&mask=/mask.png&mask-bg=ffffff', caption: 'mask=/mask.png: a star-shaped image mask on white' },
      { url: '/sunset.jpg?w=240&border=8,FF6600', caption: 'border=8,FF6600' },
      { url: '/sunset.jpg?w=240&border=8,333333&border-radius=30&fm=png', caption: 'border with border-radius=30' },
      { url: '/sunset.jpg?w=240&pad=20&bg=d8dee6', caption: 'pad=20 on a grey bg' },
      { url: '/logo.png?w=240&pad-left=40&pad-top=10&bg=ffcc00', caption: 'pad-left=40&pad-top=10 on a yellow bg' },
      { url: '/sunset.jpg?w=200&border=6,ff8800&border-top=2&border-bottom=14&border-left=4&border-right=8&bg=fff', caption: 'border-top/bottom/left/right override the border width per side' },
      { url: '/sunset.jpg?w=200&pad=10&pad-bottom=30&pad-right=20&bg=334455&border-radius=24&border-radius-inner=12&border-stroke-size=3&border-stroke-color=fff', caption: 'pad-bottom/right, border-radius-inner and a white border-stroke' },
    ],
  },
  {
    id: 'fill',
    title: 'Fill',
    samples: [
      { url: '/sunset.jpg?w=240&h=240&fit=fill&fill=blur', caption: 'fill=blur: the letterbox is the photo, blurred' },
      { url: '/sunset.jpg?w=240&h=240&fit=fill&fill=solid&fill-color=8a2be2', caption: 'fill=solid&fill-color=8a2be2' },
      { url: '/sunset.jpg?w=240&h=240&fit=fill&fill=gradient&fill-gradient-linear=ff0080,0040ff', caption: 'fill=gradient, linear from pink to blue (top to bottom)' },
      { url: '/sunset.jpg?w=240&h=240&fit=fill&fill=gradient&fill-gradient-type=radial&fill-gradient-radial=ffee00,203040', caption: 'fill=gradient, radial' },
      { url: '/sunset.jpg?w=240&h=240&fit=fill&fill=gradient&fill-gradient-linear=ff0080,0040ff&fill-gradient-linear-direction=left&fill-gradient-cs=oklab', caption: 'fill-gradient-linear-direction=left in fill-gradient-cs=oklab' },
      { url: '/sunset.jpg?w=240&h=240&fit=fill&fill=gradient&fill-gradient-type=radial&fill-gradient-radial=ffee00,203040&fill-gradient-radial-radius=0.4,0.4&fill-gradient-radial-x=0.2&fill-gradient-radial-y=0.2', caption: 'radial gradient centred at (0.2, 0.2), radius 0.4' },
    ],
  },
  {
    id: 'transparency',
    title: 'Transparency grid',
    samples: [
      { url: '/logo.png?w=240', caption: 'the logo as it is (transparent background)' },
      { url: '/logo.png?w=240&transparency=grid', caption: 'transparency=grid lays a checkerboard behind it' },
      { url: '/logo.png?w=240&transparency=grid&grid-size=12&grid-colors=ffd0d0,ffffff', caption: 'grid-size=12 with grid-colors' },
    ],
  },
  {
    id: 'mark',
    title: 'Watermark (mark)',
    samples: [
      { url: '/sunset.jpg?w=320&mark=/logo.png&mark-w=120&mark-align=bottom,right', caption: 'mark=/logo.png, 120 px, bottom right' },
      { url: '/sunset.jpg?w=320&mark=/logo.png&mark-scale=30&mark-align=top,left&mark-alpha=60&mark-pad=15', caption: 'mark-scale=30, top left, mark-alpha=60' },
      { url: '/sunset.jpg?w=320&mark=/logo.png&mark-w=60&mark-tile=grid&mark-alpha=40', caption: 'mark-tile=grid' },
      { url: '/sunset.jpg?w=320&mark-base=/&mark=logo.png&mark-w=100&mark-h=50&mark-fit=crop&mark-x=20&mark-y=20&mark-rot=15&mark-if-min-width=100&mark-if-min-height=100', caption: 'mark-base + mark, cropped to 100×50 at (20, 20), turned 15°' },
    ],
  },
  {
    id: 'blend',
    title: 'Blend',
    samples: [
      { url: '/sunset.jpg?w=240&blend=ff0080&blend-mode=multiply', caption: 'blend=ff0080&blend-mode=multiply (a colour)' },
      { url: '/sunset.jpg?w=240&blend=/mask.png&blend-mode=screen&blend-size=inherit', caption: 'blend=/mask.png&blend-mode=screen, stretched over the image' },
      { url: '/sunset.jpg?w=240&blend=/logo.png&blend-w=160&blend-mode=normal&blend-alpha=70&blend-align=top,center', caption: 'the logo blended at 70 %, top centre' },
      { url: '/sunset.jpg?w=240&blend=/logo.png&blend-w=120&blend-h=60&blend-fit=crop&blend-crop=left&blend-x=10&blend-y=10&blend-pad=5&blend-mode=normal', caption: 'blend-w/h with blend-fit=crop, crop=left, at blend-x/blend-y' },
      { url: '/sunset.jpg?w=240&blend-color=ff0080&blend-mode=overlay', caption: 'blend-color (the colour form) with overlay' },
    ],
  },
  {
    id: 'text',
    title: 'Text (txt)',
    samples: [
      { url: '/sunset.jpg?w=320&txt=Pictor draws text&txt-size=32&txt-color=fff&txt-align=middle,center&txt-shad=4', caption: 'txt centred, white with a shadow (Noto Sans)' },
      { url: '/sunset.jpg?w=320&txt=Serif Bold Italic&txt-font=Georgia-BoldItalic&txt-size=26&txt-color=ffe08a&txt-align=top,left', caption: 'txt-font=Georgia-BoldItalic (DejaVu Serif)' },
      { url: '/sunset.jpg?w=320&txt=monospace 0123&txt-font=Courier&txt-size=22&txt-color=000&txt-line=2&txt-line-color=fff', caption: 'txt-font=Courier with an outline (txt-line)' },
      { url: '/sunset.jpg?w=320&txt=مرحبا بالعالم&txt-size=30&txt-color=fff&txt-align=middle,center', caption: 'Arabic, shaped and right to left' },
      { url: '/sunset.jpg?w=320&txt=こんにちは 世界 你好&txt-size=26&txt-color=fff&txt-align=bottom,center', caption: 'Japanese and Chinese (Noto Sans JP)' },
      { url: '/sunset.jpg?w=320&txt=A long line that cannot fit in the picture&txt-size=28&txt-color=fff&txt-clip=end,ellipsis', caption: 'txt-clip=end,ellipsis' },
      { url: '/sunset.jpg?w=320&txt=안녕 สวัสดี নমস্কার नमस्ते 🍕&txt-size=24&txt-color=fff&txt-align=middle,center', caption: 'Korean, Thai, Bengali, Devanagari and a monochrome emoji' },
      { url: '/sunset.jpg?w=320&txt=Tracked and leaded text that wraps&txt-size=20&txt-color=fff&txt-width=200&txt-lead=10&txt-track=2&txt-x=20&txt-y=30', caption: 'a txt-width=200 box with txt-lead and txt-track, placed at txt-x/txt-y' },
      { url: '/sunset.jpg?w=320&txt=Fits&txt-fit=max&txt-size=200&txt-color=fff&txt-pad=30&txt-align=middle,center', caption: 'txt-fit=max shrinks a 200 px text into the box, txt-pad=30' },
    ],
  },
  {
    id: 'faces',
    title: 'Faces',
    samples: [
      { url: '/faces.jpg?w=320', caption: 'the input (face-api demo photo)' },
      { url: '/faces.jpg?w=240&h=240&fit=facearea&facepad=1.5', caption: 'fit=facearea&facepad=1.5: all the faces' },
      { url: '/faces.jpg?w=160&h=160&fit=facearea&faceindex=1&facepad=2', caption: 'faceindex=1: the largest face' },
      { url: '/faces.jpg?w=200&h=300&fit=crop&crop=faces', caption: 'crop=faces: the largest face, as all three do not fit' },
      { url: '/faces.jpg?w=320&face-blur=100', caption: 'face-blur=100' },
      { url: '/faces.jpg?w=320&face-pixel=40', caption: 'face-pixel=40' },
    ],
  },
  {
    id: 'animation',
    title: 'Animation',
    samples: [
      { url: '/bouncing.gif', caption: 'the animated GIF input, unchanged' },
      { url: '/bouncing.gif?w=120', caption: 'w=120: every frame resized' },
      { url: '/bouncing.gif?reverse=true', caption: 'reverse=true: right to left' },
      { url: '/bouncing.gif?fps=3', caption: 'fps=3: slower' },
      { url: '/bouncing.gif?fm=webp', caption: 'fm=webp keeps the animation' },
      { url: '/bouncing.gif?frame=6&fm=png', caption: 'frame=6 as a still PNG' },
      { url: '/bouncing.gif?skip=2&loop=1', caption: 'skip=2 keeps every other frame; loop=1 plays once' },
      { url: '/bouncing.gif?interval=2', caption: 'interval=2' },
    ],
  },
  {
    id: 'pdf',
    title: 'PDF',
    samples: [
      { url: '/two-pages.pdf?w=200', caption: 'page 1 (red, with a blue square annotation)' },
      { url: '/two-pages.pdf?w=200&page=2', caption: 'page=2 (green)' },
      { url: '/two-pages.pdf?w=200&pdf-annotation=false', caption: 'pdf-annotation=false hides the annotation' },
    ],
  },
  {
    id: 'palette',
    title: 'Palette',
    samples: [
      { url: '/sunset.jpg?palette=json&colors=4', caption: 'palette=json&colors=4' },
      { url: '/sunset.jpg?palette=css&colors=3&prefix=sunset', caption: 'palette=css with prefix=sunset' },
    ],
  },
  {
    id: 'json',
    title: 'fm=json and fm=blurhash',
    samples: [
      { url: '/sunset.jpg?fm=json', caption: 'fm=json describes the source file' },
      { url: '/two-pages.pdf?fm=json', caption: 'fm=json of a PDF adds its page count' },
      { url: '/sunset.jpg?w=240&fm=blurhash', caption: 'fm=blurhash' },
      { url: '/faces.jpg?fm=json&faces=1', caption: 'faces=1 lists the faces in fm=json' },
    ],
  },
  {
    id: 'formats',
    title: 'Output formats',
    samples: [
      { url: `${S}&fm=webp&q=60`, caption: 'fm=webp&q=60' },
      { url: `${S}&fm=avif&q=50`, caption: 'fm=avif&q=50' },
      { url: '/logo.png?w=240&fm=png8', caption: 'fm=png8: 256 colours with alpha' },
      { url: `${S}&fm=jpg&q=10`, caption: 'fm=jpg&q=10: visible JPEG artefacts' },
      { url: `${S}&fm=gif`, caption: 'fm=gif' },
      { url: '/sunset.jpg?w=240&fm=jpg&jpg-progressive=true&chromasub=444&dpi=144&cs=srgb&iptc=allow', caption: 'progressive JPEG, chromasub=444, dpi=144, cs=srgb, iptc=allow' },
      { url: '/sunset.jpg?w=240&fm=webp&lossless=1', caption: 'lossless=1 WebP' },
      { url: '/sunset.jpg?w=240&auto=format,compress&ch=width,dpr&dl=sunset-small.jpg&expires=4102444800', caption: 'auto=format,compress; ch; dl names the download; expires in 2100' },
    ],
  },
  {
    id: 'fallback',
    title: 'Fallbacks',
    expectUnsupported: true,
    samples: [
      { url: `${S}&bg-remove=true`, caption: 'bg-remove is not applied: the image is served without it' },
      { url: `${S}&upscale=true&sat=-100`, caption: 'upscale is named in X-Pictor-Unsupported; sat is applied' },
    ],
  },
];

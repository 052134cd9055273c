/**
 * Which Node.js lines Pictor runs on. 22 and 24 are the supported LTS lines; 20 still works (CI runs the
 * suite on 20 and 22) but is past its end of life, which Pictor says once, in its own words, at `serve`.
 *
 * The AWS SDK warns on every process start under Node 20 that its *future* releases will need Node 22. The
 * release Pictor pins works on 20, so that warning says nothing an operator can act on beyond the notice
 * below; it is turned off here, before any S3 client exists.
 */
import { setNativeEnvironment } from './config/native-environment.ts';

export const SUPPORTED_NODE_LINES = [22, 24] as const;
export const OLDEST_WORKING_NODE_LINE = 20;

const major = Number(process.versions.node.split('.')[0]);

if (major < SUPPORTED_NODE_LINES[0]) setNativeEnvironment('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'true', { unlessSet: true });

/** A line for the start banner when this Node.js is past its end of life, else undefined. */
export function nodeSupportNotice(): string | undefined {
  if (major >= SUPPORTED_NODE_LINES[0]) return undefined;
  return `Node.js ${process.version} is past its end of life: Pictor supports Node.js ${SUPPORTED_NODE_LINES.join(' and ')}; plan the move.`;
}

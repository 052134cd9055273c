/**
 * Variables that native code and libraries read from their own process's environment: libuv's thread pool
 * size, fontconfig's configuration file, the AWS SDK's start-up warning, onnxruntime's telemetry. Pictor sets them to configure those
 * libraries (each caller says why and when); they are not settings, and nothing in Pictor reads them back.
 */
export type NativeVariable =
  | 'UV_THREADPOOL_SIZE'
  | 'FONTCONFIG_FILE'
  | 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'
  | 'ORT_DISABLE_TELEMETRY';

/** Sets a native library's variable; `unlessSet` leaves a value the operator gave alone. */
export function setNativeEnvironment(variable: NativeVariable, value: string, how: { unlessSet?: boolean } = {}): void {
  if (how.unlessSet && process.env[variable] !== undefined) return;
  process.env[variable] = value;
}

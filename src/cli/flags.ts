/** A repeatable option (`--folder-root A --folder-root B`): every value given, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Names from outside — file names, object keys — as they may be shown on a terminal or in a log: control
 * characters (an escape sequence planted in a name could rewrite the screen) are shown as \xNN.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

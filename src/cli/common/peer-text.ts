// Text a server chose (a DISCONNECT's description, a login banner, why a
// channel was refused) made safe for the user's terminal, as ssh passes it
// through strnvis(3) before printing: a server must not be able to send
// escape sequences (retitle the window, clear the screen, draw a fake
// prompt) through a message.

const octal = (c: string): string => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0');

/** One line of a server's text as ssh's log shows it: at most 400 characters, every control character (and `\`) as `\ooo`. */
export function visible(text: string): string {
  return text.slice(0, 400).replace(/[\x00-\x1f\x7f-\x9f\\]/g, (c) => (c === '\\' ? '\\\\' : octal(c)));
}

/**
 * A server's text of several lines (the login banner) as ssh prints it
 * (VIS_SAFE): tab, newline, carriage return, backspace and bell stay, every
 * other control character (ESC first of all) becomes `\ooo`.
 */
export function safeLines(text: string): string {
  return text.replace(/[\x00-\x06\x0b\x0c\x0e-\x1f\x7f-\x9f]/g, octal);
}

// The keys a passphrase prompt understands while the terminal is raw (echo
// and line editing off): Enter ends, Backspace/DEL erases one character,
// Ctrl-U erases the line, Ctrl-C interrupts and Ctrl-D on an empty line ends
// input. Pure, so the rules are tested without a terminal.

export type PassphraseInput =
  | { readonly state: 'more' }
  | { readonly state: 'done'; readonly value: string }
  | { readonly state: 'interrupted' }
  | { readonly state: 'eof' };

/** Longest passphrase kept; OpenSSH's readpassphrase buffer is 1024 bytes. */
export const MAX_PASSPHRASE_CHARS = 1024;

export class PassphraseEditor {
  private chars: string[] = [];

  /** Feeds terminal input; the first final state wins and later input is ignored by the caller. */
  feed(text: string): PassphraseInput {
    for (const c of text) {
      switch (c) {
        case '\r':
        case '\n':
          return { state: 'done', value: this.take() };
        case '\x03':
          this.take();
          return { state: 'interrupted' };
        case '\x04':
          if (this.chars.length === 0) return { state: 'eof' };
          break;
        case '\x7f':
        case '\b':
          this.chars.pop();
          break;
        case '\x15':
          this.chars = [];
          break;
        default:
          if (this.chars.length < MAX_PASSPHRASE_CHARS) this.chars.push(c);
      }
    }
    return { state: 'more' };
  }

  private take(): string {
    const value = this.chars.join('');
    this.chars = [];
    return value;
  }
}

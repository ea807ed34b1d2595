// What a development build answers on errors: the message and the stack (the dev-mode-errors fault).
export function devStack(error) {
  return String(error && error.stack ? error.stack : error);
}

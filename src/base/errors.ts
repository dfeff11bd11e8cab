// Typed errors. Every error a user can cause carries a stable `code` and a message
// that names what was wrong and where (file, section, instruction index, offset).

export class XrpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Shell completion (bash, zsh) and man pages for the suite's CLIs, made
 * from one description of each command line (model.ts), itself made from
 * the definitions the CLI parses with.
 */
export * from './model.js';
export * from './from-commander.js';
export { bashCompletion } from './completion-bash.js';
export { zshCompletion } from './completion-zsh.js';
export { manPage } from './man.js';
export { cliDocument, CLI_DOCUMENT_FORMATS, COMPLETION_HELP } from './document.js';

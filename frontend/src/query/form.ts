/**
 * Form decoding for SQS's query protocol (`Action=SendMessage&Version=2012-11-05&…`), strict where
 * the WHATWG parser is lenient: bytes that are not UTF-8, broken percent escapes, a parameter given
 * twice or too many parameters are refused with SQS's InvalidParameterValue instead of being
 * guessed at, so what a handler sees is exactly what the client signed.
 */
import { ConveyorError } from '@conveyor/client-sdk';

/** More than any legal request needs (a batch of 10 entries with 10 attributes each is ~450). */
export const MAX_FORM_PARAMETERS = 2_000;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function malformed(reason: string): ConveyorError {
  return new ConveyorError('InvalidParameterValue', `The request is not a valid form-encoded query: ${reason}.`);
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw malformed(`"${text.slice(0, 64)}" is not correctly percent-encoded UTF-8`);
  }
}

/** Decodes a form body or a URL's query string into its parameters (name → value). */
export function parseForm(input: Buffer | string, into: Map<string, string> = new Map()): Map<string, string> {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = utf8.decode(input);
    } catch {
      throw malformed('the body is not UTF-8');
    }
  }
  if (text.length === 0) return into;
  for (const pair of text.split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1));
    if (name.length === 0) throw malformed('a parameter has no name');
    if (into.has(name)) throw malformed(`the parameter ${name.slice(0, 256)} is given more than once`);
    if (into.size >= MAX_FORM_PARAMETERS) throw malformed(`more than ${MAX_FORM_PARAMETERS} parameters`);
    into.set(name, value);
  }
  return into;
}

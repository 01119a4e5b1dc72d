/**
 * Refuses request bodies over the limit with 413: by Content-Length when given, else by
 * counting while reading (chunked bodies). Yoga's own limit wraps every body in a
 * TransformStream and halves throughput.
 *
 * An oversize chunked body is not read further, and its 413 says `Connection: close`: the rest
 * of the body is never read, so the connection cannot carry another request. Cancelling the
 * stream instead would tear the socket down before the 413 is written.
 */
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { mediaType } from './crossOrigin.ts';

export function bodyLimit(maxBytes: number): Plugin {
  const tooLarge = () =>
    createGraphQLError(`The request body exceeds ${maxBytes} bytes.`, {
      extensions: { code: 'BAD_USER_INPUT', http: { status: 413, headers: { Connection: 'close' } } },
    });
  return {
    onRequestParse({ request, setRequestParser }) {
      if (request.method !== 'POST') return;
      const length = request.headers.get('content-length');
      if (length !== null && Number(length) > maxBytes) throw tooLarge();
      // Yoga parses JSON with a Content-Length itself; it has no parser for this type.
      if (length !== null && mediaType(request.headers.get('content-type')) !== 'application/graphql-response+json') return;
      setRequestParser(async (req) => {
        const reader = req.body?.getReader();
        const chunks: Uint8Array[] = [];
        let total = 0;
        for (;;) {
          const chunk = await reader?.read();
          if (!chunk || chunk.done) break;
          total += chunk.value.byteLength;
          if (total > maxBytes) throw tooLarge();
          chunks.push(chunk.value);
        }
        const body = new Uint8Array(total);
        let offset = 0;
        for (const c of chunks) {
          body.set(c, offset);
          offset += c.byteLength;
        }
        try {
          return JSON.parse(new TextDecoder().decode(body));
        } catch {
          throw createGraphQLError('The request body is not valid JSON.', {
            extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
          });
        }
      });
    },
  };
}

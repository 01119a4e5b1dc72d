/**
 * Refuses request bodies over the limit: by Content-Length when given, else by counting while
 * reading. Yoga's own limit wraps every body in a TransformStream and halves throughput.
 */
import { createGraphQLError, type Plugin } from 'graphql-yoga';

export function bodyLimit(maxBytes: number): Plugin {
  const tooLarge = () =>
    createGraphQLError(`The request body exceeds ${maxBytes} bytes.`, { extensions: { code: 'BAD_USER_INPUT', http: { status: 413 } } });
  return {
    onRequestParse({ request, setRequestParser }) {
      if (request.method !== 'POST') return;
      const length = request.headers.get('content-length');
      if (length !== null) {
        if (Number(length) > maxBytes) throw tooLarge();
        return;
      }
      setRequestParser(async (req) => {
        const reader = req.body?.getReader();
        const chunks: Uint8Array[] = [];
        let total = 0;
        for (;;) {
          const chunk = await reader?.read();
          if (!chunk || chunk.done) break;
          total += chunk.value.byteLength;
          if (total > maxBytes) {
            await reader?.cancel();
            throw tooLarge();
          }
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

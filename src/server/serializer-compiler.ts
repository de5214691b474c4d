import { SerializerSelector } from "@fastify/fast-json-stringify-compiler";
import type { FastifySerializerCompiler } from "fastify";

type Serialize = (doc: unknown) => string;

/** Serializers built so far, by response schema object (module constants, shared by every app built in this process). */
const built = new WeakMap<object, Serialize>();

/**
 * Fastify's own response serializer compiler (fast-json-stringify, the default) with each schema
 * built at its first use, once per process — not every route's responses at every start, which
 * was a third of a server's start-up CPU. Styx registers no shared schemas (`addSchema`), so a
 * serializer depends on its schema alone. `compileNow` builds everything asked for so far.
 */
export function serializerCompiler(): FastifySerializerCompiler<unknown> & { compileNow(): void } {
  const build = SerializerSelector()(undefined, {});
  const pending: (() => void)[] = [];
  const compiler: FastifySerializerCompiler<unknown> = (route) => {
    const schema = route.schema as object;
    const ready = built.get(schema);
    if (ready) return ready;
    let fn: Serialize | undefined;
    const compile = (): Serialize => {
      fn ??= built.get(schema);
      if (!fn) {
        fn = build({ ...route, httpStatus: route.httpStatus ?? "" }) as Serialize;
        built.set(schema, fn);
      }
      return fn;
    };
    pending.push(compile);
    return (doc) => compile()(doc);
  };
  return Object.assign(compiler, {
    compileNow: () => {
      for (const c of pending) c();
    },
  });
}

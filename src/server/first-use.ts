/**
 * Functions compiled from route schemas at their first use, once per process: route schemas are
 * module constants shared by every app built in the process, so a WeakMap by schema object holds
 * each compiled function (Ajv validators, fast-json-stringify serializers). Compiling every
 * route's schemas at every start was over half of a server's start-up CPU.
 */
export function firstUse(): {
  /**
   * `built`'s function for `schema` when this process compiled it already (`now`); `later`
   * compiles it on its first call (once, remembered in `built`) and answers it.
   */
  get<F>(built: WeakMap<object, F>, schema: object, compile: () => F): { now: F | undefined; later: () => F };
  /** Compiles every function asked for so far (tests check that every route's schemas compile). */
  compileNow(): void;
} {
  const pending: (() => unknown)[] = [];
  return {
    get<F>(built: WeakMap<object, F>, schema: object, compile: () => F) {
      const now = built.get(schema);
      let fn = now;
      const later = (): F => {
        fn ??= built.get(schema);
        if (fn === undefined) {
          fn = compile();
          built.set(schema, fn);
        }
        return fn;
      };
      if (now === undefined) pending.push(later);
      return { now, later };
    },
    compileNow() {
      for (const c of pending) c();
    },
  };
}

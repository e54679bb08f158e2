/**
 * T with every object and array readonly, all the way down: the type of a
 * frozen resolved experiment and of each section handed on from it. Tuples
 * become readonly arrays of their element type.
 */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

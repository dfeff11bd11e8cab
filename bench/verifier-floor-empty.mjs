// Deliberately empty: bench/verifier-cold-child.mjs imports it to measure what
// importing one module costs a fresh Node process (the floor under any verifier).
export {};

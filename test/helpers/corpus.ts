// The bpf_conformance corpus (313 ISA tests of the public bpf_conformance
// project, copied unchanged with their licence headers into
// test/fixtures/bpf_conformance so that a fresh clone runs them).
import { fileURLToPath } from 'node:url';

export const CORPUS = fileURLToPath(new URL('../fixtures/bpf_conformance/tests', import.meta.url));

// walk.bpf.c (the XRP tests' storage function) under the REAL Linux verifier
// (see test/helpers/kernel-verifier.ts); control: the same body with an offset
// mask that reaches past the page is rejected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkUnderKernelVerifier, ROOT } from '../../helpers/kernel-verifier.ts';

test('walk.bpf.c loads under the running kernel\'s verifier (and a mask past the page does not)', (t) => {
  const body = readFileSync(join(ROOT, 'bpf/xrp/walk.bpf.c'), 'utf8');
  assert.ok(body.includes('((self - 8) & 0xff8)'));
  const wide = body.replace('((self - 8) & 0xff8)', '((self - 8) & 0x1ff8)');
  const wrapper = readFileSync(join(ROOT, 'test/kernel/xrp/kernel/verify.bpf.c'), 'utf8')
    .replace('#include "../../../../bpf/xrp/walk.bpf.c"', wide)
    .replace('#include "../../../helpers/kernel-wrap.h"', `#include "${join(ROOT, 'test/helpers/kernel-wrap.h')}"`);
  checkUnderKernelVerifier(t, {
    tag: 'xrp-walk',
    source: 'test/kernel/xrp/kernel/verify.bpf.c',
    programs: ['verify_walk'],
    control: { source: wrapper, why: 'a mask past the page must be rejected', log: /invalid access to map value|max value is outside|unbounded memory access/ },
  });
});

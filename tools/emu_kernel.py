#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Rewrites a CUDA source for the host kernel emulator (tests/emu/cuda_emu.h).

Every kernel launch

    kernel<<<grid, block[, shmem[, stream]]>>>(args);

becomes a call of the emulator, with the kernel call in a lambda that each emulated thread runs:

    ::nst::emu::launch(::nst::emu::LaunchSite{"kernel", __FILE__, __LINE__}, dim3(grid), dim3(block),
                       (shmem), (stream), [=]() { kernel(args); });

Everything else is copied unchanged. The launch's own text (kernel name with template arguments,
configuration, arguments, line breaks) is kept verbatim, and a #line directive maps the output back
to the source, so that compiler messages and __FILE__ / __LINE__ name the original .cu file.

The scanner skips comments and string / character literals, matches (), [], {} in the launch
configuration and the arguments, and template arguments before <<< (kernel<true, 4><<<...>>>); a
configuration is split at its top-level commas, template argument lists (f<1, 2>(x)) taken as
nesting unless that leaves a '<' unclosed (a comparison), then the plain split decides. It fails loudly (exit status 1, file:line) when a
launch cannot be parsed, when a <<< or >>> is left in the output, or when the source uses inline
assembly, which cannot be emulated, except the read of %globaltimer that kernels/run_state.cu makes
(`asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));` becomes `t = ::nst::emu::globaltimer_ns();`).

Usage: emu_kernel.py INPUT.cu OUTPUT.cpp     (OUTPUT '-' writes to stdout)
       emu_kernel.py --self-test            (the scanner's own tests)
"""
import os
import re
import sys
import tempfile


class RewriteError(Exception):
    def __init__(self, pos, message):
        super().__init__(message)
        self.pos = pos


def code_mask(src):
    """mask[i] is True where src[i] is code: not in a comment, string or character literal."""
    n = len(src)
    mask = [True] * n
    i = 0
    while i < n:
        c = src[i]
        if src.startswith('//', i):
            j = src.find('\n', i)
            j = n if j < 0 else j
        elif src.startswith('/*', i):
            j = src.find('*/', i + 2)
            if j < 0:
                raise RewriteError(i, 'unterminated comment')
            j += 2
        elif c == 'R' and src.startswith('R"', i) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == '_')):
            m = re.compile(r'R"([^()\\\s]{0,16})\(').match(src, i)
            if not m:
                raise RewriteError(i, 'malformed raw string literal')
            end = src.find(')' + m.group(1) + '"', m.end())
            if end < 0:
                raise RewriteError(i, 'unterminated raw string literal')
            j = end + len(m.group(1)) + 2
        elif c == '"' or (c == "'" and not (i > 0 and (src[i - 1].isalnum() or src[i - 1] == '_'))):
            # A quote after an identifier or digit character is a digit separator (1'000) or the
            # end of an encoding prefix (u8'x' is rare enough to ignore).
            j = i + 1
            while j < n and src[j] != c:
                if src[j] == '\\':
                    j += 1
                elif src[j] == '\n':
                    raise RewriteError(i, 'unterminated literal')
                j += 1
            if j >= n:
                raise RewriteError(i, 'unterminated literal')
            j += 1
        else:
            i += 1
            continue
        for k in range(i, j):
            mask[k] = False
        i = j
    return mask


OPEN = {'(': ')', '[': ']', '{': '}'}
CLOSE = {')', ']', '}'}


def skip_space(src, mask, i):
    """First index >= i that is code and not whitespace (comments count as space)."""
    while i < len(src) and (not mask[i] or src[i].isspace()):
        i += 1
    return i


def skip_space_back(src, mask, i):
    """Last index <= i that is code and not whitespace."""
    while i >= 0 and (not mask[i] or src[i].isspace()):
        i -= 1
    return i


def callee_start(src, mask, pos):
    """Start of the launched expression that ends just before the <<< at pos."""
    i = skip_space_back(src, mask, pos - 1)
    if i >= 0 and src[i] == '>':  # template arguments: match back to their '<'
        angle = brackets = 0  # a '<' or '>' inside () or [] is an operator, not a bracket
        while i >= 0:
            c = src[i]
            if mask[i]:
                if c in ')]':
                    brackets += 1
                elif c in '([':
                    brackets -= 1
                elif brackets == 0 and c == '>':
                    angle += 1
                elif brackets == 0 and c == '<':
                    angle -= 1
                    if angle == 0:
                        break
            i -= 1
        if i < 0 or brackets != 0:
            raise RewriteError(pos, 'unbalanced template arguments before <<<')
        i = skip_space_back(src, mask, i - 1)
    start = None
    while i >= 0:
        j = i
        while j >= 0 and (src[j].isalnum() or src[j] == '_'):
            j -= 1
        if j == i:
            break
        start = j + 1
        k = skip_space_back(src, mask, j)
        if k >= 1 and src[k] == ':' and src[k - 1] == ':':  # a qualified name: keep going
            start = k - 1
            i = skip_space_back(src, mask, k - 2)
            continue
        break
    if start is None or src[start].isdigit():
        raise RewriteError(pos, 'no kernel name before <<<')
    return start


def match_forward(src, mask, i):
    """src[i] opens a bracket; returns the index just past its match."""
    stack = []
    while i < len(src):
        c = src[i]
        if mask[i]:
            if c in OPEN:
                stack.append(OPEN[c])
            elif c in CLOSE:
                if not stack or stack.pop() != c:
                    raise RewriteError(i, 'unbalanced ' + c)
                if not stack:
                    return i + 1
        i += 1
    raise RewriteError(i, 'unterminated bracket')


def launch_config_end(src, mask, i):
    """i is just past <<<; returns the index of the >>> that closes the configuration."""
    depth = 0
    while i < len(src):
        c = src[i]
        if mask[i]:
            if c in OPEN:
                depth += 1
            elif c in CLOSE:
                depth -= 1
                if depth < 0:
                    raise RewriteError(i, 'unbalanced ' + c + ' in a launch configuration')
            elif c == ';':
                break
            elif depth == 0 and src.startswith('>>>', i):
                return i
        i += 1
    raise RewriteError(i, 'launch configuration without >>>')


def split_top_level(text, mask, angles):
    """Splits at commas outside (), [], {} (and template argument lists when `angles`)."""
    parts, depth, angle, last = [], 0, 0, 0
    for i, c in enumerate(text):
        if not mask[i]:
            continue
        if c in OPEN:
            depth += 1
        elif c in CLOSE:
            depth -= 1
        elif angles and c == '<':
            prev = text[:i].rstrip()
            if prev and (prev[-1].isalnum() or prev[-1] == '_') and text[i + 1:i + 2] not in ('<', '='):
                angle += 1
        elif angles and c == '>' and angle > 0:
            angle -= 1
        elif c == ',' and depth == 0 and angle == 0:
            parts.append(text[last:i])
            last = i + 1
    parts.append(text[last:])
    return parts, angle == 0


def split_config(cfg, mask):
    """The 2 to 4 parts of a launch configuration, or None. Template argument lists are taken as
    nesting first (f<1, 2>(x), 256); if that leaves a '<' open (a comparison) or gives no valid
    configuration, a plain split decides."""
    parts, closed = split_top_level(cfg, mask, angles=True)
    if closed and 2 <= len(parts) <= 4 and all(p.strip() for p in parts):
        return parts
    parts, _ = split_top_level(cfg, mask, angles=False)
    if 2 <= len(parts) <= 4 and all(p.strip() for p in parts):
        return parts
    return None


GLOBALTIMER = re.compile(r'\b(?:asm|__asm__|__asm)\s+(?:volatile|__volatile__)\s*\(\s*"mov\.u64\s+%0,\s*%%globaltimer;"'
                         r'\s*:\s*"=l"\s*\(\s*([A-Za-z_]\w*)\s*\)\s*\)\s*;')


def emulate_globaltimer(src):
    """Replaces the one inline-assembly statement the emulator models, a read of %globaltimer into a
    variable, by a call of the emulator's clock (line breaks kept)."""
    mask = code_mask(src)
    out, cursor = [], 0
    for m in GLOBALTIMER.finditer(src):
        if not mask[m.start()]:
            continue
        text = '%s = ::nst::emu::globaltimer_ns();' % m.group(1)
        out.append(src[cursor:m.start()])
        out.append(text + '\n' * m.group(0).count('\n'))
        cursor = m.end()
    out.append(src[cursor:])
    return ''.join(out)


def rewrite(src):
    """Returns (rewritten source, number of launches)."""
    src = emulate_globaltimer(src)
    mask = code_mask(src)
    for m in re.finditer(r'\b(asm|__asm__|__asm)\b', src):
        if mask[m.start()]:
            raise RewriteError(m.start(), 'inline assembly cannot be emulated')

    launches = [m.start() for m in re.finditer('<<<', src) if mask[m.start()]]
    out, cursor = [], 0
    for pos in launches:
        if pos < cursor:
            raise RewriteError(pos, 'a launch inside the arguments of another launch')
        start = callee_start(src, mask, pos)
        callee = ' '.join(src[start:pos].split())
        end_cfg = launch_config_end(src, mask, pos + 3)
        cfg, cfg_mask = src[pos + 3:end_cfg], mask[pos + 3:end_cfg]
        parts = split_config(cfg, cfg_mask)
        if parts is None:
            raise RewriteError(pos, 'a launch configuration needs 2 to 4 non-empty parts: <<<%s>>>'
                               % ' '.join(cfg.split()))
        # Verbatim (line breaks included), so that lines keep their numbers inside the launch too.
        grid, block = parts[0], parts[1]
        shmem = parts[2] if len(parts) > 2 else '0'
        stream = parts[3] if len(parts) > 3 else 'nullptr'

        open_paren = skip_space(src, mask, end_cfg + 3)
        if open_paren >= len(src) or src[open_paren] != '(':
            raise RewriteError(end_cfg, 'expected the kernel arguments after >>>')
        close = match_forward(src, mask, open_paren)
        args = src[open_paren + 1:close - 1]
        semi = skip_space(src, mask, close)
        if semi >= len(src) or src[semi] != ';':
            raise RewriteError(close, 'a kernel launch must be a statement of its own (expected ;)')

        original = src[start:semi + 1]
        text = ('::nst::emu::launch(::nst::emu::LaunchSite{"%s", __FILE__, __LINE__}, dim3(%s), dim3(%s), (%s), (%s), '
                '[=]() { %s(%s); });' % (callee.replace('\\', '\\\\').replace('"', '\\"'), grid, block, shmem,
                                          stream, callee, args))
        text += '\n' * max(0, original.count('\n') - text.count('\n'))  # keep later lines in place
        out.append(src[cursor:start])
        out.append(text)
        cursor = semi + 1
    out.append(src[cursor:])
    result = ''.join(out)

    left = code_mask(result)
    for token in ('<<<', '>>>'):
        for m in re.finditer(token, result):
            if left[m.start()]:
                raise RewriteError(None, 'a %s was left unconverted in the output (line %d of the output)'
                                   % (token, result.count('\n', 0, m.start()) + 1))
    return result, len(launches)


def self_test():
    """Checks the scanner on the launch forms it must handle and the ones it must refuse."""
    good = {
        'k<<<g, b>>>(x);': 'dim3(g), dim3( b), (0), (nullptr), [=]() { k(x); });',
        'ns::k<T, (N > 2)><<<dim3(a, b), std::max<int>(1, 2), 0, s>>>(f(1, (2)), h[3]);':
            '{"ns::k<T, (N > 2)>", __FILE__, __LINE__}, dim3(dim3(a, b)), dim3( std::max<int>(1, 2)), ( 0), ( s)',
        'foo<A<B, C>><<<f<1, 2>(q), 3>>>(z);': 'dim3(f<1, 2>(q)), dim3( 3)',
        'k<<<n < 4 ? 1 : 2, 64>>>(z);': 'dim3(n < 4 ? 1 : 2), dim3( 64)',
        'k<<<g,\n b>>>(\n x, // c\n y);': '[=]() { k(\n x, // c\n y); });',
        '// k<<<1, 2>>>(x);\nconst char* s = "k<<<1, 2>>>(x);"; int q = 1\'000;': '// k<<<1, 2>>>(x);',
        'asm volatile("mov.u64 %0, %%globaltimer;"\n : "=l"(t));': 't = ::nst::emu::globaltimer_ns();\n',
    }
    bad = ['k<<<1>>>(x);', 'k<<<1, 2>>>(x)', '<<<1, 2>>>(x);', 'k<<<1, 2, 3, 4, 5>>>(x);', 'k<<<1, 2>>> x;',
           'asm volatile("nop");', 'asm volatile("mov.u64 %0, %%clock64;" : "=l"(t));', 'k<<<1, 2>>>(x; ', 'int a = b >>> c;']
    failures = 0
    for src, expect in good.items():
        try:
            out, _ = rewrite(src)
        except RewriteError as e:
            out = 'error: %s' % e
        if expect not in out or out.count('\n') != src.count('\n'):
            failures += 1
            sys.stderr.write('self-test: %r\n  gave %r\n  expected to contain %r\n' % (src, out, expect))
    for src in bad:
        try:
            out, _ = rewrite(src)
            failures += 1
            sys.stderr.write('self-test: %r was accepted: %r\n' % (src, out))
        except RewriteError:
            pass
    print('emu_kernel.py self-test: %d of %d cases failed' % (failures, len(good) + len(bad)))
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[1] == '--self-test':
        return self_test()
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    source, target = argv[1], argv[2]
    with open(source, encoding='utf-8') as f:
        src = f.read()
    try:
        body, count = rewrite(src)
    except RewriteError as e:
        line = src.count('\n', 0, e.pos) + 1 if e.pos is not None else 0
        sys.stderr.write('%s:%d: emu_kernel.py: error: %s\n' % (source, line, e))
        return 1
    path = os.path.abspath(source).replace('\\', '\\\\').replace('"', '\\"')
    text = ('// Generated by tools/emu_kernel.py from %s: do not edit.\n'
            '// %d kernel launch(es) rewritten for the host kernel emulator (tests/emu/cuda_emu.h).\n'
            '#include "cuda_emu.h"\n'
            '#line 1 "%s"\n' % (os.path.basename(source), count, path)) + body
    if target == '-':
        sys.stdout.write(text)
        return 0
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.emu_kernel.')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

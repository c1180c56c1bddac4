#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The test guest's virtio-blk pattern (guest/user.h blk_pattern_base, guest/README.md).

  blk_pattern.py write FILE SEED SECTORS       create FILE holding the pattern
  blk_pattern.py check FILE SEED [SECTORS]     exit 1 at the first sector that differs
  blk_pattern.py zero  FILE FIRST COUNT        check that sectors FIRST.. are all zeros

SEED is the seed the guest uses for the disk: blk_seed + the disk's slot.  Numbers may be
decimal or 0x-prefixed hex.  check reads FILE in one go, or with O_DIRECT when FILE is '-d:PATH'.
"""
import os
import struct
import sys

M = (1 << 64) - 1
SECTOR = 512
STEPS = [w * 0x2545F4914F6CDD1D for w in range(64)]
PACK = struct.Struct("<64Q").pack


def sector(seed, s):
    x = seed ^ ((s * 0x9E3779B97F4A7C15) & M)
    x ^= x >> 29
    x = (x * 0xBF58476D1CE4E5B9) & M
    x ^= x >> 32
    return PACK(*[(x + st) & M for st in STEPS])


def pattern(seed, first, count):
    return b"".join(sector(seed, s) for s in range(first, first + count))


def read_file(path):
    if not path.startswith("-d:"):
        with open(path, "rb") as f:
            return f.read()
    # O_DIRECT: page-aligned buffer (mmap) and whole blocks.
    import mmap
    path = path[3:]
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        size = os.fstat(fd).st_size
        buf = mmap.mmap(-1, max(size, 4096))
        done = 0
        while done < size:
            n = os.readv(fd, [memoryview(buf)[done:]])
            if n <= 0:
                break
            done += n
        return bytes(buf[:done])
    finally:
        os.close(fd)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    op, path = argv[1], argv[2]
    nums = [int(a, 0) for a in argv[3:]]
    if op == "write":
        seed, count = nums
        with open(path, "wb") as f:
            for s in range(0, count, 2048):
                f.write(pattern(seed, s, min(2048, count - s)))
        return 0
    data = read_file(path)
    if op == "check":
        seed = nums[0]
        count = nums[1] if len(nums) > 1 else len(data) // SECTOR
        if len(data) < count * SECTOR:
            print(f"{path}: {len(data)} bytes, want {count * SECTOR}")
            return 1
        for s in range(count):
            if data[s * SECTOR:(s + 1) * SECTOR] != sector(seed, s):
                print(f"{path}: sector {s} differs from the pattern for seed {seed}")
                return 1
        return 0
    if op == "zero":
        first, count = nums
        if data[first * SECTOR:(first + count) * SECTOR] != bytes(count * SECTOR):
            print(f"{path}: sectors {first}+{count} are not all zeros")
            return 1
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

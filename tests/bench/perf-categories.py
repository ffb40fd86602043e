#!/usr/bin/env python3
"""Sorts `perf script` call-graph samples (stdin) of Ballast node processes into categories and
prints each category's samples per GiB written (argument: GiB written while perf recorded).

A sample counts for the TLS layer when, walking from its leaf toward the thread's root, a frame of
Netty's SslHandler or of netty-tcnative (BoringSSL) comes before any frame of the protocols above
it (HTTP/2, gRPC, Ratis's server, Ballast): SslHandler sits at the bottom of each channel's
pipeline, so everything it calls upward (the HTTP/2 decoder, Ratis's handlers) is not TLS work.
Its leaf then says what kind: BoringSSL (the crypto), a memory copy, the kernel (the socket write
SslHandler makes, which a plaintext channel makes too), or Java code of the TLS layer.
Used by tests/bench/write-profile.sh.
"""
import collections
import re
import sys

TLS_FRAME = re.compile(r"SslHandler|tcnative|OpenSsl")
# ByteToMessageDecoder.channelRead above an SslHandler frame is the HTTP/2 decoder's (it inherits it):
# its copies gather frames that straddle reads, in plaintext too.
ABOVE_TLS = re.compile(r"Http2|\.grpc\.|ratis\.(server|grpc)|io\.ballast|ByteToMessageDecoder\.channelRead")
COPY = re.compile(r"memmove|memcpy|StubRoutines")


def category(comm, frames):
    if re.match(r"C[12] CompilerThre", comm):
        return "JIT compilers"
    if comm.startswith(("GC Thread", "VM Thread")):
        return "GC"
    leaf = frames[0] if frames else ""
    for frame in frames:
        if TLS_FRAME.search(frame):
            if "tcnative" in leaf:
                return "TLS: BoringSSL"
            if "kernel" in leaf:
                return "TLS: kernel (socket)"
            if COPY.search(leaf):
                return "TLS: copies"
            return "TLS: Netty's Java"
        if ABOVE_TLS.search(frame):
            break
    return "other: kernel" if "kernel" in leaf else "other: user"


def code_kind(frames):
    """Where the sampled instruction is: the kernel, JIT-compiled or interpreted Java, the JVM itself, or another library."""
    leaf = frames[0] if frames else ""
    if "[kernel" in leaf:
        return "kernel"
    if re.search(r"perf-\d+\.map", leaf):
        return "Java (JIT-compiled, interpreter, JVM stubs)"
    if "libjvm" in leaf:
        return "the JVM (compilers, GC, runtime)"
    return "other libraries (libc, BoringSSL, ...)"


def main():
    gib = float(sys.argv[1])
    counts, kinds = collections.Counter(), collections.Counter()
    comm, frames = None, []

    def count():
        counts[category(comm, frames)] += 1
        kinds[code_kind(frames)] += 1

    for line in sys.stdin:
        if not line.strip():
            if comm is not None:
                count()
            comm, frames = None, []
        elif line[0] in " \t":
            frames.append(line.strip())
        else:
            comm = line.strip()
    if comm is not None:
        count()
    total = sum(counts.values())
    order = ["JIT compilers", "GC", "TLS: BoringSSL", "TLS: copies", "TLS: Netty's Java", "TLS: kernel (socket)",
             "other: user", "other: kernel"]
    print(f"| category | samples per GiB | share |")
    print(f"|---|---|---|")
    for name in order:
        print(f"| {name} | {counts[name] / gib:.0f} | {100 * counts[name] / max(total, 1):.1f} % |")
    print(f"| total | {total / gib:.0f} | 100 % |")
    print()
    print("| code | share of samples |")
    print("|---|---|")
    for name, n in kinds.most_common():
        print(f"| {name} | {100 * n / max(total, 1):.1f} % |")


if __name__ == "__main__":
    main()

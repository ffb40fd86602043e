package io.ballast.engine.attach;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * A stand-in for the kernel's nbd driver at the {@link NbdKernel} seam: it does what the kernel
 * does with the socket (takes its own reference with dup, so the attacher's close leaves the
 * connection up) and records every call. Tests speak NBD transmission on {@link #kernelFd} to
 * prove the descriptor handed over is the negotiated connection.
 */
final class RecordingNbdKernel implements NbdKernel {
    final List<NbdNetlink.Connect> connects = new CopyOnWriteArrayList<>();
    final List<Integer> disconnects = new CopyOnWriteArrayList<>();
    final List<Long> resizes = new CopyOnWriteArrayList<>();
    final AtomicInteger reconnects = new AtomicInteger();
    final Map<String, Integer> connected = new ConcurrentHashMap<>();
    volatile int kernelFd = -1;
    volatile long receiveTimeoutSeen = -1;
    volatile long size;
    volatile IntConsumer linkDead;
    private final AtomicInteger nextIndex = new AtomicInteger();

    @Override
    public String describe() {
        return "recording";
    }

    @Override
    public synchronized int connect(NbdNetlink.Connect c) {
        receiveTimeoutSeen = NbdNative.receiveTimeoutMillis(c.socketFd());
        kernelFd = NbdNative.dup(c.socketFd());
        size = c.sizeBytes();
        connects.add(c);
        int index = nextIndex.getAndIncrement();
        connected.put(c.backendId(), index);
        return index;
    }

    @Override
    public boolean canReconnect() {
        return true;
    }

    @Override
    public synchronized void reconnect(int index, int socketFd, String backendId) {
        if (!Integer.valueOf(index).equals(connected.get(backendId))) {
            throw new AssertionError("reconnect of nbd" + index + " with identifier " + backendId);
        }
        receiveTimeoutSeen = NbdNative.receiveTimeoutMillis(socketFd);
        NbdNative.close(kernelFd);
        kernelFd = NbdNative.dup(socketFd);
        reconnects.incrementAndGet();
    }

    @Override
    public long resize(int index, long sizeBytes, String backendId) {
        resizes.add(sizeBytes);
        size = sizeBytes;
        return sizeBytes;
    }

    @Override
    public synchronized void disconnect(int index, long timeoutMillis) {
        NbdNative.close(kernelFd);
        kernelFd = -1;
        disconnects.add(index);
        connected.values().remove(index);
    }

    @Override
    public OptionalInt findConnected(String backendId) {
        Integer i = connected.get(backendId);
        return i == null ? OptionalInt.empty() : OptionalInt.of(i);
    }

    @Override
    public Path device(int index) {
        return Path.of("/dev/nbd" + index);
    }

    @Override
    public long sizeBytes(int index) {
        return size;
    }

    @Override
    public AutoCloseable onLinkDead(IntConsumer listener) {
        linkDead = listener;
        return () -> linkDead = null;
    }
}

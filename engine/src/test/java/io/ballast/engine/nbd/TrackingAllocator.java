package io.ballast.engine.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/** A pooled allocator that remembers every buffer it hands out, to prove each was released exactly once. */
final class TrackingAllocator implements ByteBufAllocator {
    /**
     * One pool for every test channel, as a server has: a pool per channel never gives its 4 MiB
     * chunks back, and the NBD fuzz test (hundreds of channels a second) ran out of direct memory.
     */
    private static final ByteBufAllocator SHARED = new PooledByteBufAllocator(true);
    private final ByteBufAllocator delegate = SHARED;
    private final Queue<ByteBuf> allocated = new ConcurrentLinkedQueue<>();
    private volatile int largest;

    private <T extends ByteBuf> T track(T buf) {
        allocated.add(buf);
        largest = Math.max(largest, buf.capacity());
        return buf;
    }

    /** Capacity of the largest buffer ever allocated. */
    int largest() {
        return largest;
    }

    void assertAllReleased() {
        for (ByteBuf b : allocated) {
            assertEquals(0, b.refCnt(), () -> "buffer not released: " + b);
        }
    }

    @Override public ByteBuf buffer() { return track(delegate.buffer()); }
    @Override public ByteBuf buffer(int i) { return track(delegate.buffer(i)); }
    @Override public ByteBuf buffer(int i, int m) { return track(delegate.buffer(i, m)); }
    @Override public ByteBuf ioBuffer() { return track(delegate.ioBuffer()); }
    @Override public ByteBuf ioBuffer(int i) { return track(delegate.ioBuffer(i)); }
    @Override public ByteBuf ioBuffer(int i, int m) { return track(delegate.ioBuffer(i, m)); }
    @Override public ByteBuf heapBuffer() { return track(delegate.heapBuffer()); }
    @Override public ByteBuf heapBuffer(int i) { return track(delegate.heapBuffer(i)); }
    @Override public ByteBuf heapBuffer(int i, int m) { return track(delegate.heapBuffer(i, m)); }
    @Override public ByteBuf directBuffer() { return track(delegate.directBuffer()); }
    @Override public ByteBuf directBuffer(int i) { return track(delegate.directBuffer(i)); }
    @Override public ByteBuf directBuffer(int i, int m) { return track(delegate.directBuffer(i, m)); }
    @Override public CompositeByteBuf compositeBuffer() { return track(delegate.compositeBuffer()); }
    @Override public CompositeByteBuf compositeBuffer(int n) { return track(delegate.compositeBuffer(n)); }
    @Override public CompositeByteBuf compositeHeapBuffer() { return track(delegate.compositeHeapBuffer()); }
    @Override public CompositeByteBuf compositeHeapBuffer(int n) { return track(delegate.compositeHeapBuffer(n)); }
    @Override public CompositeByteBuf compositeDirectBuffer() { return track(delegate.compositeDirectBuffer()); }
    @Override public CompositeByteBuf compositeDirectBuffer(int n) { return track(delegate.compositeDirectBuffer(n)); }
    @Override public boolean isDirectBufferPooled() { return true; }
    @Override public int calculateNewCapacity(int min, int max) { return delegate.calculateNewCapacity(min, max); }
}

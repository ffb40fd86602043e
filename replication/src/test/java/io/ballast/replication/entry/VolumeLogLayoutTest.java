package io.ballast.replication.entry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class VolumeLogLayoutTest {
    @Test
    void batchRoundTripsAndEveryFlippedBitIsDetected() {
        ByteBuffer e = VolumeLogLayout.ops(7, List.of(
                new VolumeLogLayout.Op(VolumeLogLayout.OP_WRITE, (byte) 0, 4096, 3, ByteBuffer.wrap(new byte[] {1, 2, 3})),
                new VolumeLogLayout.Op(VolumeLogLayout.OP_ZEROES, VolumeLogLayout.FLAG_PUNCH, 0, 8192, null)));
        VolumeLogLayout.Entry d = VolumeLogLayout.decode(e.duplicate());
        assertEquals(7, d.epoch());
        assertEquals(2, d.ops().size());
        assertEquals(ByteBuffer.wrap(new byte[] {1, 2, 3}), d.ops().get(0).data());
        assertEquals(8192, d.ops().get(1).length());
        for (int bit = 0; bit < e.remaining() * 8; bit++) {
            ByteBuffer c = ByteBuffer.allocate(e.remaining()).put(e.duplicate()).flip();
            c.put(bit / 8, (byte) (c.get(bit / 8) ^ (1 << (bit % 8))));
            BallastException x = assertThrows(BallastException.class, () -> VolumeLogLayout.decode(c));
            assertEquals(true, x.code() == ErrorCode.CORRUPTION || x.code() == ErrorCode.INVALID_ARGUMENT);
        }
    }
}

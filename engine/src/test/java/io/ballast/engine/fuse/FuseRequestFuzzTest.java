package io.ballast.engine.fuse;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Coverage-guided fuzzing of {@link FuseRequestDecoder}: any bytes a read of /dev/fuse could
 * return (a request of any opcode, length and body, the header's own length field agreeing or
 * not) must decode to a request or {@link FuseRequest.Malformed}, never throw. Regression mode in
 * plain {@code ./mvnw verify}, fuzzing with {@code JAZZER_FUZZ=1} (engine/pom.xml).
 */
class FuseRequestFuzzTest {
    @FuzzTest(maxDuration = "10s")
    void anyRequestBytesDecodeWithoutThrowing(FuzzedDataProvider data) {
        boolean honestLength = data.consumeBoolean();
        byte[] bytes = data.consumeRemainingAsBytes();
        // The read buffer is larger than any request, as FuseSession's is; the decoder must only
        // look at the bytes the read returned.
        ByteBuffer b = ByteBuffer.allocate(bytes.length + 256).order(ByteOrder.LITTLE_ENDIAN);
        b.put(bytes).clear();
        if (honestLength && bytes.length >= 4) {
            b.putInt(0, bytes.length); // fuse_in_header.len agrees: the decoder goes past the header check
        }
        assertNotNull(FuseRequestDecoder.decode(b, bytes.length));
    }
}

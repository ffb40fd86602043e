package io.ballast.engine.nbd;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.ballast.engine.volume.MemoryBlockVolume;

/**
 * Coverage-guided fuzzing of everything an NBD client can send: the handshake (options) and the
 * transmission phase (request headers, payloads, commands, flags), cut into arbitrary pieces, so
 * the frame decoder's state machine and the handlers behind it see every split. Whatever arrives,
 * the server must answer with protocol replies or close the connection: no exception out of the
 * pipeline, no buffer left unreleased ({@link NbdTestChannel#close} checks), no hang.
 *
 * <p>Plain {@code ./mvnw verify} replays the inputs under {@code src/test/resources} (regression
 * mode); with {@code JAZZER_FUZZ=1} Jazzer fuzzes for {@code maxDuration} (the {@code fuzz}
 * executions of the build, see engine/pom.xml).
 */
class NbdProtocolFuzzTest {
    private static final int MIB = 1 << 20;

    @FuzzTest(maxDuration = "10s")
    void anyClientBytesGetProtocolAnswersNeverACrashOrALeak(FuzzedDataProvider data) {
        MemoryBlockVolume disk = new MemoryBlockVolume("vol", MIB);
        try (NbdTestChannel c = new NbdTestChannel(MapNbdExports.of(disk))) {
            c.drain(); // the greeting
            if (data.consumeBoolean()) {
                // Most inputs go straight to the transmission phase, where most of the code is.
                c.send(Wire.clientFlags(3), Wire.option(7, Wire.goData("vol")));
                c.drain();
            }
            while (data.remainingBytes() > 0 && c.ch.isOpen()) {
                c.send(data.consumeBytes(data.consumeInt(1, 4096)));
                c.drain();
            }
        }
    }
}

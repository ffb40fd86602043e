package io.ballast.engine.attach;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DeviceAttachersTest {
    /** Probes with fixed answers that count how often they were asked. */
    private static final class Fixed implements DeviceAttachers.Probes {
        final boolean device;
        final boolean family;
        final AtomicInteger asked = new AtomicInteger();

        Fixed(boolean device, boolean family) {
            this.device = device;
            this.family = family;
        }

        @Override
        public boolean nbdDeviceExists() {
            asked.incrementAndGet();
            return device;
        }

        @Override
        public boolean nbdFamilyResolves() {
            asked.incrementAndGet();
            return family;
        }
    }

    @Test
    void autoTakesNbdWhenTheDeviceExists() {
        DeviceAttachers.Choice c = DeviceAttachers.choose("auto", new Fixed(true, false));
        assertEquals("nbd", c.kind());
        assertEquals("--attach=auto: /dev/nbd0 exists", c.reason());
    }

    @Test
    void autoTakesNbdWhenOnlyTheFamilyResolves() {
        DeviceAttachers.Choice c = DeviceAttachers.choose("auto", new Fixed(false, true));
        assertEquals("nbd", c.kind());
        assertTrue(c.reason().contains("netlink family resolves"), c.reason());
    }

    @Test
    void autoFallsBackToFuseLoopWithoutNbd() {
        DeviceAttachers.Choice c = DeviceAttachers.choose("auto", new Fixed(false, false));
        assertEquals("fuse-loop", c.kind());
        assertTrue(c.reason().contains("no nbd kernel module"), c.reason());
    }

    @Test
    void forcedNbdWithoutTheModuleIsRefusedWithTheFix() {
        BallastException e = assertThrows(BallastException.class,
                () -> DeviceAttachers.choose("nbd", new Fixed(false, false)));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains("modprobe nbd"), e.getMessage());
        assertEquals("nbd", DeviceAttachers.choose("nbd", new Fixed(false, true)).kind());
    }

    @Test
    void forcedFuseLoopAsksNothing() {
        Fixed probes = new Fixed(true, true);
        assertEquals("fuse-loop", DeviceAttachers.choose("fuse-loop", probes).kind());
        assertEquals(0, probes.asked.get());
    }

    @Test
    void unknownOrMissingFlagIsInvalid() {
        for (String bad : new String[] {"", "NBD", "loop", null}) {
            BallastException e = assertThrows(BallastException.class,
                    () -> DeviceAttachers.choose(bad, new Fixed(true, true)));
            assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
            assertTrue(e.getMessage().contains("use auto, nbd or fuse-loop"), e.getMessage());
        }
    }

    @Test
    void choiceCreatesTheMatchingAttacher() {
        Path dir = Path.of("/run/ballast-test");
        assertInstanceOf(NbdAttacher.class, new DeviceAttachers.Choice("nbd", "").create(dir.resolve("nbd.sock"), dir, null));
        assertInstanceOf(FuseLoopAttacher.class, new DeviceAttachers.Choice("fuse-loop", "").create(dir, dir, null));
    }

    @Test
    void thisHostWithoutNbdChoosesFuseLoop() {
        DeviceAttachers.Probes sys = DeviceAttachers.Probes.system();
        boolean nbd = sys.nbdDeviceExists() || sys.nbdFamilyResolves();
        assertEquals(nbd ? "nbd" : "fuse-loop", DeviceAttachers.choose("auto").kind());
    }
}

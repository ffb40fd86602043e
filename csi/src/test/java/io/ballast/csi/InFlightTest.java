package io.ballast.csi;

import io.ballast.csi.InFlight;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class InFlightTest {
    private final InFlight inFlight = new InFlight();

    @Test
    void aBusyKeyIsAbortedNamingTheHolderAndTheBodyDoesNotRun() {
        AtomicBoolean ran = new AtomicBoolean();
        inFlight.call("DeleteVolume", List.of("volume v1"), () -> {
            var e = assertThrows(StatusRuntimeException.class,
                    () -> inFlight.call("ControllerPublishVolume", List.of("volume v1"), () -> ran.getAndSet(true)));
            assertEquals(Status.Code.ABORTED, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().startsWith("DeleteVolume is in progress on volume v1"), e.getStatus().getDescription());
            assertEquals("other", inFlight.call("DeleteVolume", List.of("volume v2"), () -> "other"));
            return null;
        });
        assertFalse(ran.get());
        assertFalse(inFlight.busy("volume v1"));
        assertFalse(inFlight.busy("volume v2"));
    }

    @Test
    void acquisitionIsAllOrNothing() {
        inFlight.call("CreateVolume", List.of("volume name b"), () -> {
            assertThrows(StatusRuntimeException.class,
                    () -> inFlight.call("CreateSnapshot", List.of("volume name a", "volume name b"), () -> null));
            assertFalse(inFlight.busy("volume name a"), "the key taken before the busy one was not given back");
            return null;
        });
    }

    @Test
    void keysAreReleasedWhenTheBodyThrowsAndRepeatedKeysAreOneKey() {
        assertThrows(IllegalStateException.class, () -> inFlight.call("CreateSnapshot", List.of("volume v1", "volume v1"), () -> {
            assertTrue(inFlight.busy("volume v1"));
            throw new IllegalStateException("backend failed");
        }));
        assertFalse(inFlight.busy("volume v1"));
    }
}

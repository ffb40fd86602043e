package io.ballast.csi.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;

class InFlightTest {
    private final InFlight inFlight = new InFlight();

    @Test
    void aBusyKeyIsAbortedNamingTheHolder() {
        try (var lease = inFlight.acquire("DeleteVolume", "volume v1")) {
            var e = assertThrows(StatusRuntimeException.class, () -> inFlight.acquire("ControllerPublishVolume", "volume v1"));
            assertEquals(Status.Code.ABORTED, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().startsWith("DeleteVolume is in progress on volume v1"), e.getStatus().getDescription());
            inFlight.acquire("DeleteVolume", "volume v2").close();
        }
        assertFalse(inFlight.busy("volume v1"));
        inFlight.acquire("DeleteVolume", "volume v1").close();
    }

    @Test
    void acquisitionIsAllOrNothing() {
        try (var lease = inFlight.acquire("CreateVolume", "volume name b")) {
            assertThrows(StatusRuntimeException.class, () -> inFlight.acquire("CreateSnapshot", "volume name a", "volume name b"));
            assertFalse(inFlight.busy("volume name a"), "the key taken before the busy one was not given back");
        }
    }

    @Test
    void closingTwiceReleasesOnceAndRepeatedKeysAreOneKey() {
        var lease = inFlight.acquire("CreateSnapshot", "volume v1", "volume v1");
        lease.close();
        var next = inFlight.acquire("DeleteVolume", "volume v1");
        lease.close(); // must not release the key the next operation holds
        assertTrue(inFlight.busy("volume v1"));
        next.close();
        assertFalse(inFlight.busy("volume v1"));
    }
}

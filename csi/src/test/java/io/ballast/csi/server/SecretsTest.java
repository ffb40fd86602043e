package io.ballast.csi.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import io.ballast.proto.csi.v1.ControllerPublishVolumeRequest;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.DeleteVolumeRequest;
import io.ballast.proto.csi.v1.GetPluginInfoRequest;
import io.ballast.proto.csi.v1.NodeExpandVolumeRequest;
import io.ballast.proto.csi.v1.NodeStageVolumeRequest;
import org.junit.jupiter.api.Test;

class SecretsTest {
    @Test
    void everySecretFieldIsClearedAndTheRestKept() {
        for (Message m : new Message[] {
            CreateVolumeRequest.newBuilder().setName("pvc-1").putSecrets("password", "hunter2").build(),
            DeleteVolumeRequest.newBuilder().setVolumeId("vol-1").putSecrets("password", "hunter2").build(),
            ControllerPublishVolumeRequest.newBuilder().setVolumeId("vol-1").putSecrets("password", "hunter2").build(),
            NodeStageVolumeRequest.newBuilder().setVolumeId("vol-1").putSecrets("password", "hunter2").build(),
            NodeExpandVolumeRequest.newBuilder().setVolumeId("vol-1").putSecrets("password", "hunter2").build()}) {
            String summary = Secrets.summary(m);
            assertFalse(summary.contains("hunter2") || summary.contains("password"), summary);
            assertTrue(summary.contains("vol-1") || summary.contains("pvc-1"), summary);
        }
    }

    @Test
    void theOriginalIsUntouchedAndAMessageWithoutSecretsIsReturnedAsIs() {
        var request = CreateVolumeRequest.newBuilder().setName("pvc-1").putSecrets("k", "v").build();
        var clean = (CreateVolumeRequest) Secrets.strip(request);
        assertEquals(0, clean.getSecretsCount());
        assertEquals("pvc-1", clean.getName());
        assertEquals(1, request.getSecretsCount());
        var noSecrets = CreateVolumeRequest.newBuilder().setName("pvc-2").build();
        assertSame(noSecrets, Secrets.strip(noSecrets));
        assertEquals("", Secrets.summary(GetPluginInfoRequest.getDefaultInstance()));
    }

    @Test
    void longSummariesAreCut() {
        var request = CreateVolumeRequest.newBuilder().setName("x".repeat(2000)).build();
        String summary = Secrets.summary(request);
        assertEquals(Secrets.MAX_SUMMARY + 3, summary.length());
        assertTrue(summary.endsWith("..."));
    }
}

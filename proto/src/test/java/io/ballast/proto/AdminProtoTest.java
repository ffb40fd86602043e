package io.ballast.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Descriptors.MethodDescriptor;
import io.ballast.proto.v1.AdminProto;
import io.ballast.proto.v1.CreateVolumeRequest;
import io.ballast.proto.v1.GetVolumeResponse;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.proto.v1.Volume;
import io.ballast.proto.v1.VolumeState;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Smoke test of the generated ballast.v1 NodeAdmin API. */
class AdminProtoTest {

  @Test
  void serviceShape() {
    assertEquals("ballast.v1", AdminProto.getDescriptor().getPackage());
    assertEquals("ballast.v1.NodeAdmin", NodeAdminGrpc.SERVICE_NAME);
    assertEquals(
        List.of("GetNodeInfo", "GetClusterState", "SetNodeDrain", "AdmitNode", "CreateVolume", "DeleteVolume", "ListVolumes", "GetVolume",
            "ResizeVolume", "AttachVolume", "DetachVolume", "TransferLeadership", "AddReplica",
            "RemoveReplica", "ScrubVolume", "CreateSnapshot", "DeleteSnapshot", "ListSnapshots", "BackupVolume",
            "RestoreVolume"),
        AdminProto.getDescriptor().findServiceByName("NodeAdmin").getMethods().stream()
            .map(MethodDescriptor::getName).toList());
    // The long operations stream their progress.
    var service = AdminProto.getDescriptor().findServiceByName("NodeAdmin");
    assertEquals(true, service.findMethodByName("BackupVolume").isServerStreaming());
    assertEquals(true, service.findMethodByName("RestoreVolume").isServerStreaming());
  }

  @Test
  void roundTrip() throws Exception {
    CreateVolumeRequest create = CreateVolumeRequest.newBuilder()
        .setName("vol-1").setSizeBytes(1L << 30).setReplicas(0).build();
    assertEquals(create, CreateVolumeRequest.parseFrom(create.toByteArray()));

    GetVolumeResponse get = GetVolumeResponse.newBuilder()
        .setVolume(Volume.newBuilder().setName("vol-1").setSizeBytes(1L << 30)
            .setUsedBytes(4096).setReplicas(3).setState(VolumeState.VOLUME_STATE_DEGRADED)
            .setChecksumErrorCount(2))
        .build();
    assertEquals(get, GetVolumeResponse.parseFrom(get.toByteString()));
  }
}

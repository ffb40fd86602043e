package io.ballast.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.BoolValue;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.Timestamp;
import com.google.protobuf.WireFormat;
import io.ballast.proto.csi.v1.CapacityRange;
import io.ballast.proto.csi.v1.ControllerGetCapabilitiesResponse;
import io.ballast.proto.csi.v1.ControllerModifyVolumeRequest;
import io.ballast.proto.csi.v1.ControllerPublishVolumeRequest;
import io.ballast.proto.csi.v1.ControllerServiceCapability;
import io.ballast.proto.csi.v1.CreateSnapshotRequest;
import io.ballast.proto.csi.v1.CreateVolumeRequest;
import io.ballast.proto.csi.v1.Csi;
import io.ballast.proto.csi.v1.GetCapacityResponse;
import io.ballast.proto.csi.v1.GetMetadataDeltaRequest;
import io.ballast.proto.csi.v1.GetPluginInfoResponse;
import io.ballast.proto.csi.v1.GroupControllerServiceCapability;
import io.ballast.proto.csi.v1.NodeGetInfoResponse;
import io.ballast.proto.csi.v1.NodePublishVolumeRequest;
import io.ballast.proto.csi.v1.NodeServiceCapability;
import io.ballast.proto.csi.v1.NodeStageVolumeRequest;
import io.ballast.proto.csi.v1.PluginCapability;
import io.ballast.proto.csi.v1.ProbeResponse;
import io.ballast.proto.csi.v1.Snapshot;
import io.ballast.proto.csi.v1.Topology;
import io.ballast.proto.csi.v1.TopologyRequirement;
import io.ballast.proto.csi.v1.ValidateVolumeCapabilitiesRequest;
import io.ballast.proto.csi.v1.ValidateVolumeCapabilitiesResponse;
import io.ballast.proto.csi.v1.Volume;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.csi.v1.VolumeContentSource;
import io.ballast.proto.csi.v1.VolumeUsage;
import io.ballast.proto.csi.v1.BlockMetadataType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Checks the generated csi.v1 code against the CSI v1.11.0 specification.
 *
 * <p>Every expected number below was taken from the protobuf embedded in
 * container-storage-interface/spec, spec.md at tag v1.11.0 -- not from our
 * csi.proto. A mismatch here means Ballast would not interoperate with a CO.
 */
class CsiProtoTest {

  private static final FileDescriptor FILE = Csi.getDescriptor();

  // ---------------------------------------------------------------- helpers

  /** name -> number pairs, in the order given. */
  private static Map<String, Integer> m(Object... kv) {
    Map<String, Integer> map = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      map.put((String) kv[i], (Integer) kv[i + 1]);
    }
    return map;
  }

  /** The message has exactly these fields with exactly these numbers. */
  private static void assertFields(Descriptor d, Map<String, Integer> expected) {
    for (Map.Entry<String, Integer> e : expected.entrySet()) {
      FieldDescriptor f = d.findFieldByName(e.getKey());
      assertNotNull(f, d.getFullName() + " lacks field " + e.getKey());
      assertEquals(e.getValue().intValue(), f.getNumber(),
          d.getFullName() + "." + e.getKey());
    }
    assertEquals(expected.size(), d.getFields().size(),
        d.getFullName() + " field count");
  }

  /** The enum has exactly these values with exactly these numbers. */
  private static void assertEnum(EnumDescriptor d, Map<String, Integer> expected) {
    for (Map.Entry<String, Integer> e : expected.entrySet()) {
      assertNotNull(d.findValueByName(e.getKey()),
          d.getFullName() + " lacks value " + e.getKey());
      assertEquals(e.getValue().intValue(), d.findValueByName(e.getKey()).getNumber(),
          d.getFullName() + "." + e.getKey());
    }
    assertEquals(expected.size(), d.getValues().size(), d.getFullName() + " value count");
  }

  private static void assertMethods(String service, String... methods) {
    ServiceDescriptor s = FILE.findServiceByName(service);
    assertNotNull(s, "service " + service);
    assertEquals("csi.v1." + service, s.getFullName());
    assertEquals(List.of(methods),
        s.getMethods().stream().map(MethodDescriptor::getName).toList(), service);
  }

  private static boolean isSecret(Descriptor d, String field) {
    return d.findFieldByName(field).getOptions().getExtension(Csi.csiSecret);
  }

  // ------------------------------------------------------------------ file

  @Test
  void packageAndImports() {
    assertEquals("csi.v1", FILE.getPackage());
    assertEquals(
        List.of("google/protobuf/descriptor.proto", "google/protobuf/timestamp.proto",
            "google/protobuf/wrappers.proto"),
        FILE.getDependencies().stream().map(FileDescriptor::getName).toList());
  }

  @Test
  void customOptionExtensionNumbers() {
    // spec: csi_secret = 1059, all alpha_* = 1060
    assertEquals(1059, Csi.csiSecret.getDescriptor().getNumber());
    assertEquals("google.protobuf.FieldOptions",
        Csi.csiSecret.getDescriptor().getContainingType().getFullName());
    assertEquals(1060, Csi.alphaField.getDescriptor().getNumber());
    assertEquals(1060, Csi.alphaEnum.getDescriptor().getNumber());
    assertEquals(1060, Csi.alphaEnumValue.getDescriptor().getNumber());
    assertEquals(1060, Csi.alphaMessage.getDescriptor().getNumber());
    assertEquals(1060, Csi.alphaMethod.getDescriptor().getNumber());
    assertEquals(1060, Csi.alphaService.getDescriptor().getNumber());
    assertEquals("google.protobuf.ServiceOptions",
        Csi.alphaService.getDescriptor().getContainingType().getFullName());
  }

  @Test
  void secretsAreMarked() {
    assertTrue(isSecret(CreateVolumeRequest.getDescriptor(), "secrets"));
    assertTrue(isSecret(NodeStageVolumeRequest.getDescriptor(), "secrets"));
    assertTrue(isSecret(NodePublishVolumeRequest.getDescriptor(), "secrets"));
    assertTrue(isSecret(GetMetadataDeltaRequest.getDescriptor(), "secrets"));
    assertFalse(isSecret(CreateVolumeRequest.getDescriptor(), "parameters"));
    // NodeExpandVolumeRequest.secrets is both secret and alpha.
    FieldDescriptor nodeExpandSecrets =
        FILE.findMessageTypeByName("NodeExpandVolumeRequest").findFieldByName("secrets");
    assertEquals(6, nodeExpandSecrets.getNumber());
    assertTrue(nodeExpandSecrets.getOptions().getExtension(Csi.csiSecret));
    assertTrue(nodeExpandSecrets.getOptions().getExtension(Csi.alphaField));
  }

  // -------------------------------------------------------------- services

  @Test
  void serviceMethods() {
    assertEquals(List.of("Identity", "Controller", "GroupController", "SnapshotMetadata", "Node"),
        FILE.getServices().stream().map(ServiceDescriptor::getName).toList());
    assertMethods("Identity", "GetPluginInfo", "GetPluginCapabilities", "Probe");
    assertMethods("Controller",
        "CreateVolume", "DeleteVolume", "ControllerPublishVolume",
        "ControllerUnpublishVolume", "ValidateVolumeCapabilities", "ListVolumes",
        "GetCapacity", "ControllerGetCapabilities", "CreateSnapshot", "DeleteSnapshot",
        "ListSnapshots", "ControllerExpandVolume", "ControllerGetVolume",
        "ControllerModifyVolume");
    assertMethods("GroupController",
        "GroupControllerGetCapabilities", "CreateVolumeGroupSnapshot",
        "DeleteVolumeGroupSnapshot", "GetVolumeGroupSnapshot");
    assertMethods("SnapshotMetadata", "GetMetadataAllocated", "GetMetadataDelta");
    assertMethods("Node",
        "NodeStageVolume", "NodeUnstageVolume", "NodePublishVolume", "NodeUnpublishVolume",
        "NodeGetVolumeStats", "NodeExpandVolume", "NodeGetCapabilities", "NodeGetInfo");
  }

  @Test
  void grpcServiceNamesAndStreaming() {
    // gRPC paths are what a CO actually dials: /csi.v1.Controller/CreateVolume
    assertEquals("csi.v1.Identity", io.ballast.proto.csi.v1.IdentityGrpc.SERVICE_NAME);
    assertEquals("csi.v1.Controller/CreateVolume",
        io.ballast.proto.csi.v1.ControllerGrpc.getCreateVolumeMethod().getFullMethodName());
    assertEquals("csi.v1.Node/NodeGetInfo",
        io.ballast.proto.csi.v1.NodeGrpc.getNodeGetInfoMethod().getFullMethodName());
    assertEquals("csi.v1.GroupController/CreateVolumeGroupSnapshot",
        io.ballast.proto.csi.v1.GroupControllerGrpc.getCreateVolumeGroupSnapshotMethod()
            .getFullMethodName());
    // SnapshotMetadata RPCs are server-streaming and the service is alpha.
    ServiceDescriptor sm = FILE.findServiceByName("SnapshotMetadata");
    assertTrue(sm.getOptions().getExtension(Csi.alphaService));
    for (MethodDescriptor md : sm.getMethods()) {
      assertTrue(md.isServerStreaming(), md.getName());
      assertFalse(md.isClientStreaming(), md.getName());
    }
    assertEquals(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING,
        io.ballast.proto.csi.v1.SnapshotMetadataGrpc.getGetMetadataDeltaMethod().getType());
    // ControllerGetVolume / ControllerModifyVolume are alpha methods.
    ServiceDescriptor ctrl = FILE.findServiceByName("Controller");
    assertTrue(ctrl.findMethodByName("ControllerGetVolume").getOptions()
        .getExtension(Csi.alphaMethod));
    assertTrue(ctrl.findMethodByName("ControllerModifyVolume").getOptions()
        .getExtension(Csi.alphaMethod));
    assertFalse(ctrl.findMethodByName("CreateVolume").getOptions()
        .getExtension(Csi.alphaMethod));
  }

  // -------------------------------------------------------------- messages

  @Test
  void createVolumeRequestFields() {
    Descriptor d = CreateVolumeRequest.getDescriptor();
    assertEquals("csi.v1.CreateVolumeRequest", d.getFullName());
    // spec: name=1 capacity_range=2 volume_capabilities=3 parameters=4 secrets=5
    // volume_content_source=6 accessibility_requirements=7 mutable_parameters=8
    // (mutable_parameters is named mutable_params here; see csi.proto header)
    assertFields(d, m("name", 1, "capacity_range", 2, "volume_capabilities", 3,
        "parameters", 4, "secrets", 5, "volume_content_source", 6,
        "accessibility_requirements", 7, "mutable_params", 8));
    FieldDescriptor mutable = d.findFieldByNumber(8);
    assertTrue(mutable.isMapField());
    assertEquals("mutableParameters", mutable.getJsonName());
    assertTrue(mutable.getOptions().getExtension(Csi.alphaField));
  }

  @Test
  void renamedMutableParametersKeepSpecNumbers() {
    // spec: ValidateVolumeCapabilitiesRequest.mutable_parameters = 6,
    //       ValidateVolumeCapabilitiesResponse.Confirmed.mutable_parameters = 4,
    //       ControllerModifyVolumeRequest.mutable_parameters = 3 (name unchanged).
    assertFields(ValidateVolumeCapabilitiesRequest.getDescriptor(),
        m("volume_id", 1, "volume_context", 2, "volume_capabilities", 3, "parameters", 4,
            "secrets", 5, "mutable_params", 6));
    assertFields(ValidateVolumeCapabilitiesResponse.Confirmed.getDescriptor(),
        m("volume_context", 1, "volume_capabilities", 2, "parameters", 3,
            "mutable_params", 4));
    assertFields(ControllerModifyVolumeRequest.getDescriptor(),
        m("volume_id", 1, "secrets", 2, "mutable_parameters", 3));
    assertEquals("mutableParameters", ValidateVolumeCapabilitiesRequest.getDescriptor()
        .findFieldByNumber(6).getJsonName());
    assertEquals("mutableParameters", ValidateVolumeCapabilitiesResponse.Confirmed
        .getDescriptor().findFieldByNumber(4).getJsonName());
  }

  @Test
  void otherMessageFields() {
    assertFields(ValidateVolumeCapabilitiesResponse.getDescriptor(),
        m("confirmed", 1, "message", 2));
    assertFields(Volume.getDescriptor(), m("capacity_bytes", 1, "volume_id", 2,
        "volume_context", 3, "content_source", 4, "accessible_topology", 5));
    assertFields(CapacityRange.getDescriptor(), m("required_bytes", 1, "limit_bytes", 2));
    assertFields(VolumeCapability.getDescriptor(),
        m("block", 1, "mount", 2, "access_mode", 3));
    assertEquals("access_type",
        VolumeCapability.getDescriptor().findFieldByName("block").getContainingOneof().getName());
    assertFields(VolumeCapability.MountVolume.getDescriptor(),
        m("fs_type", 1, "mount_flags", 2, "volume_mount_group", 3));
    assertFields(VolumeContentSource.getDescriptor(), m("snapshot", 1, "volume", 2));
    assertFields(TopologyRequirement.getDescriptor(), m("requisite", 1, "preferred", 2));
    assertFields(ControllerPublishVolumeRequest.getDescriptor(), m("volume_id", 1,
        "node_id", 2, "volume_capability", 3, "readonly", 4, "secrets", 5,
        "volume_context", 6));
    assertFields(NodeStageVolumeRequest.getDescriptor(), m("volume_id", 1,
        "publish_context", 2, "staging_target_path", 3, "volume_capability", 4,
        "secrets", 5, "volume_context", 6));
    assertFields(NodePublishVolumeRequest.getDescriptor(), m("volume_id", 1,
        "publish_context", 2, "staging_target_path", 3, "target_path", 4,
        "volume_capability", 5, "readonly", 6, "secrets", 7, "volume_context", 8));
    assertFields(NodeGetInfoResponse.getDescriptor(),
        m("node_id", 1, "max_volumes_per_node", 2, "accessible_topology", 3));
    assertFields(GetCapacityResponse.getDescriptor(), m("available_capacity", 1,
        "maximum_volume_size", 2, "minimum_volume_size", 3));
    assertFields(Snapshot.getDescriptor(), m("size_bytes", 1, "snapshot_id", 2,
        "source_volume_id", 3, "creation_time", 4, "ready_to_use", 5,
        "group_snapshot_id", 6));
    assertFields(CreateSnapshotRequest.getDescriptor(),
        m("source_volume_id", 1, "name", 2, "secrets", 3, "parameters", 4));
    assertFields(GetMetadataDeltaRequest.getDescriptor(), m("base_snapshot_id", 1,
        "target_snapshot_id", 2, "starting_offset", 3, "max_results", 4, "secrets", 5));
    assertFields(VolumeUsage.getDescriptor(),
        m("available", 1, "total", 2, "used", 3, "unit", 4));
    assertEquals("google.protobuf.BoolValue",
        ProbeResponse.getDescriptor().findFieldByName("ready").getMessageType().getFullName());
    assertEquals("google.protobuf.Int64Value", GetCapacityResponse.getDescriptor()
        .findFieldByName("maximum_volume_size").getMessageType().getFullName());
  }

  // ----------------------------------------------------------------- enums

  @Test
  void accessModes() {
    // spec: SINGLE_NODE_SINGLE_WRITER = 6, SINGLE_NODE_MULTI_WRITER = 7
    assertEnum(VolumeCapability.AccessMode.Mode.getDescriptor(), m(
        "UNKNOWN", 0, "SINGLE_NODE_WRITER", 1, "SINGLE_NODE_READER_ONLY", 2,
        "MULTI_NODE_READER_ONLY", 3, "MULTI_NODE_SINGLE_WRITER", 4,
        "MULTI_NODE_MULTI_WRITER", 5, "SINGLE_NODE_SINGLE_WRITER", 6,
        "SINGLE_NODE_MULTI_WRITER", 7));
    assertTrue(VolumeCapability.AccessMode.Mode.SINGLE_NODE_MULTI_WRITER
        .getValueDescriptor().getOptions().getExtension(Csi.alphaEnumValue));
  }

  @Test
  void controllerCapabilities() {
    assertEnum(ControllerServiceCapability.RPC.Type.getDescriptor(), m(
        "UNKNOWN", 0, "CREATE_DELETE_VOLUME", 1, "PUBLISH_UNPUBLISH_VOLUME", 2,
        "LIST_VOLUMES", 3, "GET_CAPACITY", 4, "CREATE_DELETE_SNAPSHOT", 5,
        "LIST_SNAPSHOTS", 6, "CLONE_VOLUME", 7, "PUBLISH_READONLY", 8, "EXPAND_VOLUME", 9,
        "LIST_VOLUMES_PUBLISHED_NODES", 10, "VOLUME_CONDITION", 11, "GET_VOLUME", 12,
        "SINGLE_NODE_MULTI_WRITER", 13, "MODIFY_VOLUME", 14));
  }

  @Test
  void nodeCapabilities() {
    assertEnum(NodeServiceCapability.RPC.Type.getDescriptor(), m(
        "UNKNOWN", 0, "STAGE_UNSTAGE_VOLUME", 1, "GET_VOLUME_STATS", 2, "EXPAND_VOLUME", 3,
        "VOLUME_CONDITION", 4, "SINGLE_NODE_MULTI_WRITER", 5, "VOLUME_MOUNT_GROUP", 6));
  }

  @Test
  void pluginAndGroupCapabilities() {
    assertEnum(PluginCapability.Service.Type.getDescriptor(), m(
        "UNKNOWN", 0, "CONTROLLER_SERVICE", 1, "VOLUME_ACCESSIBILITY_CONSTRAINTS", 2,
        "GROUP_CONTROLLER_SERVICE", 3, "SNAPSHOT_METADATA_SERVICE", 4));
    assertEnum(PluginCapability.VolumeExpansion.Type.getDescriptor(),
        m("UNKNOWN", 0, "ONLINE", 1, "OFFLINE", 2));
    assertFields(PluginCapability.getDescriptor(), m("service", 1, "volume_expansion", 2));
    assertEnum(GroupControllerServiceCapability.RPC.Type.getDescriptor(),
        m("UNKNOWN", 0, "CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT", 1));
    assertEnum(VolumeUsage.Unit.getDescriptor(), m("UNKNOWN", 0, "BYTES", 1, "INODES", 2));
    assertEnum(BlockMetadataType.getDescriptor(),
        m("UNKNOWN", 0, "FIXED_LENGTH", 1, "VARIABLE_LENGTH", 2));
    assertEquals("csi.v1.BlockMetadataType", BlockMetadataType.getDescriptor().getFullName());
  }

  // ------------------------------------------------------------ round trip

  private static CreateVolumeRequest sampleCreateVolume() {
    return CreateVolumeRequest.newBuilder()
        .setName("pvc-0b7e")
        .setCapacityRange(CapacityRange.newBuilder()
            .setRequiredBytes(10L << 30).setLimitBytes(20L << 30))
        .addVolumeCapabilities(VolumeCapability.newBuilder()
            .setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
            .setAccessMode(VolumeCapability.AccessMode.newBuilder()
                .setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_SINGLE_WRITER)))
        .addVolumeCapabilities(VolumeCapability.newBuilder()
            .setMount(VolumeCapability.MountVolume.newBuilder()
                .setFsType("ext4").addMountFlags("noatime").setVolumeMountGroup("2000"))
            .setAccessMode(VolumeCapability.AccessMode.newBuilder()
                .setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)))
        .putParameters("replicas", "3")
        .putSecrets("token", "s3cr3t")
        .setVolumeContentSource(VolumeContentSource.newBuilder()
            .setSnapshot(VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId("snap-1")))
        .setAccessibilityRequirements(TopologyRequirement.newBuilder()
            .addRequisite(Topology.newBuilder().putSegments("topology.ballast.io/zone", "a"))
            .addPreferred(Topology.newBuilder().putSegments("topology.ballast.io/zone", "a")))
        .putMutableParams("iops", "1000")
        .build();
  }

  @Test
  void createVolumeRequestRoundTripsThroughBytes() throws Exception {
    CreateVolumeRequest req = sampleCreateVolume();
    byte[] bytes = req.toByteArray();
    CreateVolumeRequest back = CreateVolumeRequest.parseFrom(bytes);
    assertEquals(req, back);
    assertTrue(back.getUnknownFields().asMap().isEmpty());
    assertEquals("1000", back.getMutableParamsMap().get("iops"));
    assertEquals(VolumeCapability.AccessMode.Mode.SINGLE_NODE_SINGLE_WRITER,
        back.getVolumeCapabilities(0).getAccessMode().getMode());
  }

  @Test
  void otherMessagesRoundTrip() throws Exception {
    ControllerGetCapabilitiesResponse caps = ControllerGetCapabilitiesResponse.newBuilder()
        .addCapabilities(ControllerServiceCapability.newBuilder()
            .setRpc(ControllerServiceCapability.RPC.newBuilder()
                .setType(ControllerServiceCapability.RPC.Type.MODIFY_VOLUME)))
        .build();
    assertEquals(caps, ControllerGetCapabilitiesResponse.parseFrom(caps.toByteString()));

    Snapshot snap = Snapshot.newBuilder().setSnapshotId("s").setSizeBytes(1)
        .setCreationTime(Timestamp.newBuilder().setSeconds(1_700_000_000L))
        .setReadyToUse(true).setGroupSnapshotId("g").build();
    assertEquals(snap, Snapshot.parseFrom(snap.toByteArray()));

    ProbeResponse probe = ProbeResponse.newBuilder().setReady(BoolValue.of(true)).build();
    assertEquals(probe, ProbeResponse.parseFrom(probe.toByteArray()));

    GetPluginInfoResponse info = GetPluginInfoResponse.newBuilder()
        .setName("ballast.io").setVendorVersion("0.1.0").putManifest("commit", "abc").build();
    assertEquals(info, GetPluginInfoResponse.parseFrom(info.toByteArray()));
  }

  /**
   * Bytes as a CO written against the spec would put on the wire (encoded by
   * hand from the spec's field numbers) must decode into the right fields.
   */
  @Test
  void decodesSpecEncodedBytes() throws Exception {
    ByteString.Output buf = ByteString.newOutput();
    CodedOutputStream out = CodedOutputStream.newInstance(buf);
    out.writeString(1, "pvc-1"); // name
    out.writeMessage(2, CapacityRange.newBuilder().setRequiredBytes(4096).build());
    // mutable_parameters = 8: map entries are messages {key = 1, value = 2}
    ByteString.Output entryBuf = ByteString.newOutput();
    CodedOutputStream entry = CodedOutputStream.newInstance(entryBuf);
    entry.writeString(1, "iops");
    entry.writeString(2, "500");
    entry.flush();
    out.writeBytes(8, entryBuf.toByteString());
    out.flush();

    CreateVolumeRequest req = CreateVolumeRequest.parseFrom(buf.toByteString());
    assertEquals("pvc-1", req.getName());
    assertEquals(4096, req.getCapacityRange().getRequiredBytes());
    assertEquals(Map.of("iops", "500"), req.getMutableParamsMap());
    assertTrue(req.getUnknownFields().asMap().isEmpty());

    // ...and the reverse: our encoding uses tag 8, wire type LENGTH_DELIMITED.
    CodedInputStream in = CodedInputStream.newInstance(
        CreateVolumeRequest.newBuilder().putMutableParams("k", "v").build().toByteArray());
    int tag = in.readTag();
    assertEquals(8, WireFormat.getTagFieldNumber(tag));
    assertEquals(WireFormat.WIRETYPE_LENGTH_DELIMITED, WireFormat.getTagWireType(tag));
  }
}

package io.ballast.cli;

import io.ballast.cluster.VolumeEncryption;
import io.ballast.proto.csi.v1.NodeGrpc;
import io.ballast.proto.csi.v1.NodePublishVolumeRequest;
import io.ballast.proto.csi.v1.NodeStageVolumeRequest;
import io.ballast.proto.csi.v1.NodeUnpublishVolumeRequest;
import io.ballast.proto.csi.v1.NodeUnstageVolumeRequest;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The dev cluster's volume mounted as ext4 the way kubelet mounts one: NodeStageVolume (device,
 * mkfs on first use, mount at the staging path) and NodePublishVolume (bind mount at the target)
 * through n1's CSI Node socket; undone in reverse on {@link #close()}.
 */
final class DevMount implements AutoCloseable {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final ManagedChannel channel;
    private final String volumeId;
    private final Path staging;
    private final Path target;
    private final String passphrase;

    /** {@code passphrase}: for an encrypted volume, else null. */
    DevMount(Path csiSocket, String volumeId, Path staging, Path target, String passphrase) {
        this.passphrase = passphrase;
        this.channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(csiSocket.toString()))
                .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext().build();
        this.volumeId = volumeId;
        this.staging = staging;
        this.target = target;
    }

    private NodeGrpc.NodeBlockingStub node() {
        return NodeGrpc.newBlockingStub(channel).withDeadlineAfter(300, TimeUnit.SECONDS);
    }

    private static VolumeCapability ext4() {
        return VolumeCapability.newBuilder().setMount(VolumeCapability.MountVolume.newBuilder().setFsType("ext4"))
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER))
                .build();
    }

    /** Stages and publishes; on first use leaves a note in the new filesystem. */
    void mount() throws java.io.IOException {
        NodeStageVolumeRequest.Builder stage = NodeStageVolumeRequest.newBuilder().setVolumeId(volumeId)
                .setStagingTargetPath(staging.toString()).setVolumeCapability(ext4());
        if (passphrase != null) {
            stage.putVolumeContext(VolumeEncryption.PARAMETER, "true").putSecrets("encryptionPassphrase", passphrase);
        }
        retryingAborted(() -> node().nodeStageVolume(stage.build()));
        retryingAborted(() -> node().nodePublishVolume(NodePublishVolumeRequest.newBuilder().setVolumeId(volumeId)
                .setStagingTargetPath(staging.toString()).setTargetPath(target.toString()).setVolumeCapability(ext4()).build()));
        Path hello = target.resolve("hello-from-ballast.txt");
        if (!Files.exists(hello)) {
            Files.writeString(hello, "This file lives on Ballast volume " + volumeId
                    + ": ext4 on a loop device over a FUSE file, every write replicated by Raft to 3 nodes.\n");
        }
    }

    /**
     * Retries a call refused with ABORTED (another operation on the volume is running: after a crash
     * of an earlier {@code dev up}, the node resuming the volume it had staged), as kubelet does.
     */
    private static void retryingAborted(Runnable call) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            try {
                call.run();
                return;
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.ABORTED || System.nanoTime() > deadline) {
                    throw e;
                }
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting to stage the volume", e);
            }
        }
    }

    @Override
    public void close() {
        try {
            node().nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(volumeId)
                    .setTargetPath(target.toString()).build());
            node().nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId(volumeId)
                    .setStagingTargetPath(staging.toString()).build());
        } finally {
            channel.shutdownNow();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}

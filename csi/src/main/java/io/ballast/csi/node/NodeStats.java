package io.ballast.csi.node;

import io.ballast.csi.node.StagedVolumes.Staged;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.csi.v1.NodeGetVolumeStatsResponse;
import io.ballast.proto.csi.v1.VolumeCondition;
import io.ballast.proto.csi.v1.VolumeUsage;
import java.nio.file.Path;
import java.util.List;

/**
 * NodeGetVolumeStats: bytes and inodes of a mounted filesystem (statfs through {@code stat -f}),
 * the size of a block volume's device, and the volume's condition (abnormal when its replica here
 * is degraded, I/O errors were seen, or its mount is gone).
 */
final class NodeStats {
    private final Mounter mounter;

    NodeStats(Mounter mounter) {
        this.mounter = mounter;
    }

    NodeGetVolumeStatsResponse of(Staged s, Path path, VolumeDevices devices) {
        NodeGetVolumeStatsResponse.Builder b = NodeGetVolumeStatsResponse.newBuilder();
        String condition = devices.condition(s.volumeId());
        if (s.block()) {
            long size = Long.parseLong(SystemMounter.output(List.of("blockdev", "--getsize64",
                    devices.device(s.volumeId()).orElseThrow(() -> new BallastException(ErrorCode.NOT_FOUND,
                            "volume " + s.volumeId() + " has no device here")).toString())).trim());
            b.addUsage(VolumeUsage.newBuilder().setUnit(VolumeUsage.Unit.BYTES).setTotal(size));
        } else {
            if (mounter.mountAt(path).isEmpty()) {
                condition = "not mounted at " + path;
            } else {
                // %S fundamental block size, %b total blocks, %f free, %a available to users, %c inodes, %d free inodes
                String[] f = SystemMounter.output(List.of("stat", "-f", "-c", "%S %b %f %a %c %d", path.toString())).trim().split("\\s+");
                long bs = Long.parseLong(f[0]);
                long total = Long.parseLong(f[1]) * bs;
                long free = Long.parseLong(f[2]) * bs;
                long avail = Long.parseLong(f[3]) * bs;
                long inodes = Long.parseLong(f[4]);
                long freeInodes = Long.parseLong(f[5]);
                b.addUsage(VolumeUsage.newBuilder().setUnit(VolumeUsage.Unit.BYTES).setTotal(total).setAvailable(avail)
                        .setUsed(total - free));
                b.addUsage(VolumeUsage.newBuilder().setUnit(VolumeUsage.Unit.INODES).setTotal(inodes)
                        .setAvailable(freeInodes).setUsed(inodes - freeInodes));
            }
        }
        boolean abnormal = !"healthy".equals(condition);
        return b.setVolumeCondition(VolumeCondition.newBuilder().setAbnormal(abnormal).setMessage(condition)).build();
    }
}

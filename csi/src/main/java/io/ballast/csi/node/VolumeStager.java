package io.ballast.csi.node;

import io.ballast.csi.VolumeCapabilities;
import io.ballast.csi.node.StagedVolumes.Staged;
import io.ballast.engine.crypt.Passphrases;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.csi.v1.VolumeCapability;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mechanics behind NodeStage/Unstage/Publish/Unpublish, after the Node service has validated
 * the request and taken the volume's lock: device, filesystem, mounts, and the record of each.
 * Every step checks what is already there first, so a repeated call (or one after a restart of the
 * node plugin) finishes what an earlier one started.
 */
final class VolumeStager {
    private static final Logger LOG = LoggerFactory.getLogger(VolumeStager.class);
    static final String DEFAULT_FS = "ext4";

    private final VolumeDevices devices;
    private final Mounter mounter;
    private final StagedVolumes staged;

    VolumeStager(VolumeDevices devices, Mounter mounter, StagedVolumes staged) {
        this.devices = devices;
        this.mounter = mounter;
        this.staged = staged;
    }

    /** @param mkfsOptions extra mkfs arguments, used only when the volume is formatted now */
    void stage(String id, Path staging, VolumeCapability cap, List<String> mkfsOptions, Optional<Passphrases> key) {
        boolean block = cap.hasBlock();
        String fs = block ? "" : cap.getMount().getFsType().isEmpty() ? DEFAULT_FS : cap.getMount().getFsType();
        boolean readonly = VolumeCapabilities.readerOnly(cap.getAccessMode().getMode());
        Optional<Staged> existing = staged.get(id);
        if (existing.isPresent()) {
            Staged s = existing.get();
            if (!s.stagingPath().equals(staging)) {
                throw new BallastException(ErrorCode.ALREADY_EXISTS, "volume " + id + " is staged at " + s.stagingPath()
                        + ", not " + staging);
            }
            if (s.block() != block || !s.fsType().equals(fs) || s.readonly() != readonly) {
                throw new BallastException(ErrorCode.ALREADY_EXISTS, "volume " + id + " is staged with other capabilities ("
                        + (s.block() ? "block" : "mount " + s.fsType()) + (s.readonly() ? ", read-only" : "") + ")");
            }
            if (devices.device(id).isPresent() && (block || mounter.mountAt(staging).isPresent())) {
                return; // done already
            }
            LOG.info("volume {}: staged before but its device or mount is gone (node plugin restarted?): staging again", id);
        }
        Path device = devices.attach(id, VolumeCapabilities.sharedWriters(cap.getAccessMode().getMode().name()), key);
        createDirectories(staging);
        if (!block) {
            Optional<String> found = mounter.filesystemOf(device);
            if (found.isEmpty()) {
                if (readonly) {
                    throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + id
                            + " holds no filesystem and is staged read-only: it cannot be formatted");
                }
                mounter.format(device, fs, mkfsOptions);
            } else if (!found.get().equals(fs)) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + id + " holds a " + found.get()
                        + " filesystem, not the " + fs + " asked for");
            }
            List<String> options = new ArrayList<>(cap.getMount().getMountFlagsList());
            if (readonly) {
                options.add("ro");
            }
            if (fs.equals("xfs")) {
                options.add("nouuid"); // a clone carries its source's xfs UUID; both must mount on one node
            }
            Optional<Mounter.Mount> there = mounter.mountAt(staging);
            if (there.isPresent() && !there.get().source().equals(device.toString())) {
                // A mount of a device this process no longer serves (the node plugin restarted): it
                // only answers EIO now; replace it with the volume's current device.
                LOG.warn("volume {}: {} is mounted from {}, not from its device {}: unmounting the stale mount",
                        id, staging, there.get().source(), device);
                mounter.unmount(staging);
                there = Optional.empty();
            }
            if (there.isEmpty()) {
                mounter.mount(device, staging, fs, options);
            }
        }
        staged.put(new Staged(id, staging, block, fs, readonly, cap.getAccessMode().getMode().name(), key.isPresent(),
                existing.map(Staged::publications).orElse(Map.of())));
        LOG.info("volume {} staged at {} ({} on {}{})", id, staging, block ? "block" : fs, device, key.isPresent() ? ", encrypted" : "");
    }

    void unstage(String id, Path staging) {
        Optional<Staged> existing = staged.get(id);
        if (existing.isEmpty() || !existing.get().stagingPath().equals(staging)) {
            return; // not staged there: nothing to do (the spec's idempotent unstage)
        }
        Staged s = existing.get();
        if (!s.publications().isEmpty()) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + id + " is still published at "
                    + s.publications().keySet() + "; unpublish it first");
        }
        if (!s.block()) {
            mounter.unmount(staging);
        }
        devices.detach(id);
        staged.remove(id);
        LOG.info("volume {} unstaged from {}", id, staging);
    }

    void publish(Staged s, Path target, boolean readonly) {
        if (mounter.mountAt(target).isEmpty()) {
            if (s.block()) {
                Path device = devices.device(s.volumeId()).orElseThrow(() -> new BallastException(ErrorCode.FAILED_PRECONDITION,
                        "volume " + s.volumeId() + " has no device here; stage it again"));
                createDirectories(target.getParent());
                try {
                    if (!Files.exists(target)) {
                        Files.createFile(target);
                    }
                } catch (IOException e) {
                    throw new BallastException(ErrorCode.INTERNAL, "cannot create " + target + ": " + e.getMessage(), e);
                }
                mounter.bind(device, target, readonly);
            } else {
                createDirectories(target);
                mounter.bind(s.stagingPath(), target, readonly);
            }
        }
        staged.put(s.withPublication(target, readonly));
        LOG.info("volume {} published at {}{}", s.volumeId(), target, readonly ? " (read-only)" : "");
    }

    /** Only a publication this node recorded is undone: we never unmount a path we did not mount. */
    void unpublish(String id, Path target) {
        Optional<Staged> s = staged.get(id);
        if (s.isEmpty() || !s.get().publications().containsKey(target.toString())) {
            return;
        }
        mounter.unmount(target);
        try {
            if (Files.isDirectory(target)) {
                try (var entries = Files.list(target)) {
                    if (entries.findAny().isEmpty()) {
                        Files.delete(target);
                    }
                }
            } else {
                Files.deleteIfExists(target);
            }
        } catch (IOException e) {
            throw new BallastException(ErrorCode.INTERNAL, "cannot remove " + target + ": " + e.getMessage(), e);
        }
        staged.put(s.get().withoutPublication(target));
        LOG.info("volume {} unpublished from {}", id, target);
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new BallastException(ErrorCode.INTERNAL, "cannot create " + dir + ": " + e.getMessage(), e);
        }
    }
}

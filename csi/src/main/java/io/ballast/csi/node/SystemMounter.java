package io.ballast.csi.node;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Mounter} with the system's tools (util-linux mount/umount/blkid, e2fsprogs, xfsprogs), as
 * kubelet's own mount utilities do: their behaviour on every kernel is what operators know, and
 * their messages go into our errors verbatim. The mount table is read from /proc/self/mountinfo.
 */
public final class SystemMounter implements Mounter {
    private static final Logger LOG = LoggerFactory.getLogger(SystemMounter.class);
    private static final long TIMEOUT_SECONDS = 300; // mkfs of a large volume takes a while

    @Override
    public Optional<String> filesystemOf(Path device) {
        // blkid -p probes the device itself (no cache); exit 2 = nothing recognised.
        Result r = run(List.of("blkid", "-p", "-o", "value", "-s", "TYPE", device.toString()), true);
        if (r.exit == 2 || r.out.isBlank()) {
            return Optional.empty();
        }
        if (r.exit != 0) {
            throw failed("blkid " + device, r);
        }
        return Optional.of(r.out.trim());
    }

    @Override
    public void format(Path device, String fsType, List<String> options) {
        List<String> cmd = new ArrayList<>();
        switch (fsType) {
            case "ext4" -> cmd.addAll(List.of("mkfs.ext4", "-F", "-q"));
            case "xfs" -> cmd.addAll(List.of("mkfs.xfs", "-f", "-q"));
            default -> throw new BallastException(ErrorCode.INVALID_ARGUMENT, "unsupported fsType '" + fsType + "': use ext4 or xfs");
        }
        cmd.addAll(options);
        cmd.add(device.toString());
        check(cmd);
        LOG.info("formatted {} as {}", device, fsType);
    }

    @Override
    public void mount(Path device, Path target, String fsType, List<String> options) {
        List<String> cmd = new ArrayList<>(List.of("mount", "-t", fsType));
        if (!options.isEmpty()) {
            cmd.addAll(List.of("-o", String.join(",", options)));
        }
        cmd.addAll(List.of(device.toString(), target.toString()));
        check(cmd);
    }

    @Override
    public void bind(Path source, Path target, boolean readonly) {
        check(List.of("mount", "--bind", source.toString(), target.toString()));
        if (readonly) {
            // A bind mount takes the read-only flag only on a remount (mount(8) documents this).
            check(List.of("mount", "-o", "remount,bind,ro", target.toString()));
        }
    }

    @Override
    public void unmount(Path target) {
        if (mountAt(target).isEmpty()) {
            return;
        }
        check(List.of("umount", target.toString()));
    }

    @Override
    public Optional<Mount> mountAt(Path target) {
        try {
            Path real = target.toAbsolutePath().normalize();
            Mount found = null;
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
                Mount m = parseMountInfo(line);
                if (m != null && m.target().equals(real)) {
                    found = m; // the last one is on top
                }
            }
            return Optional.ofNullable(found);
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot read /proc/self/mountinfo: " + e.getMessage(), e);
        }
    }

    /**
     * One /proc/self/mountinfo line: {@code id parent major:minor root mountpoint options [optional...] - fstype source superoptions}.
     * Octal escapes (\040 for a space) are decoded.
     */
    static Mount parseMountInfo(String line) {
        String[] f = line.split(" ");
        int dash = -1;
        for (int i = 6; i < f.length; i++) {
            if (f[i].equals("-")) {
                dash = i;
                break;
            }
        }
        if (f.length < 10 || dash < 0 || dash + 2 >= f.length) {
            return null;
        }
        boolean ro = List.of(f[5].split(",")).contains("ro");
        return new Mount(Path.of(unescape(f[4])), unescape(f[dash + 2]), f[dash + 1], ro, unescape(f[3]));
    }

    private static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && Character.isDigit(s.charAt(i + 1))) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    @Override
    public void growFilesystem(String fsType, Path device, Path mountPoint) {
        switch (fsType) {
            case "ext4" -> check(List.of("resize2fs", device.toString()));
            case "xfs" -> check(List.of("xfs_growfs", mountPoint.toString()));
            default -> throw new BallastException(ErrorCode.INVALID_ARGUMENT, "cannot grow a '" + fsType + "' filesystem");
        }
        LOG.info("grew the {} filesystem on {} (mounted at {})", fsType, device, mountPoint);
    }

    /** Runs a tool and returns its output; INTERNAL with that output when it fails. */
    static String output(List<String> cmd) {
        Result r = run(cmd, false);
        if (r.exit != 0) {
            throw failed(String.join(" ", cmd), r);
        }
        return r.out;
    }

    private static void check(List<String> cmd) {
        Result r = run(cmd, false);
        if (r.exit != 0) {
            throw failed(String.join(" ", cmd), r);
        }
    }

    private static BallastException failed(String what, Result r) {
        return new BallastException(ErrorCode.INTERNAL, what + " failed (exit " + r.exit + "): " + r.out.trim());
    }

    private record Result(int exit, String out) {}

    private static Result run(List<String> cmd, boolean quietErrors) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(!quietErrors).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new BallastException(ErrorCode.INTERNAL, String.join(" ", cmd) + " did not finish in " + TIMEOUT_SECONDS + " s");
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            throw new BallastException(ErrorCode.INTERNAL, "cannot run " + cmd.get(0) + " (is it installed?): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, "interrupted while running " + cmd.get(0), e);
        }
    }
}

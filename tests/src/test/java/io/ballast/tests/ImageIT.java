package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The image (issue 13): deploy/image/build.sh builds it with no Docker daemon and no registry, from
 * Debian packages and the jar, as an OCI and a docker archive; the image, run by a real container
 * runtime (runc, the one containerd uses), answers {@code ballast --version} and has every tool the
 * node runs; it stays within 250 MiB unpacked.
 */
class ImageIT {
    private static final List<String> NODE_TOOLS = List.of("mount", "umount", "blkid", "losetup", "mkfs.ext4", "resize2fs",
            "mkfs.xfs", "xfs_growfs");

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void theImageBuildsWithoutDockerAndRunsBallastUnderRunc() throws Exception {
        for (var tool : Map.of("mmdebstrap", "mmdebstrap", "umoci", "umoci", "skopeo", "skopeo", "runc", "runc").entrySet()) {
            ExternalTool.require(tool.getKey(), tool.getValue());
        }
        long uid = new com.sun.security.auth.module.UnixSystem().getUid();
        if (uid != 0) {
            Assumptions.abort("building the image needs root (mmdebstrap --mode=root); running as uid " + uid);
        }
        Path out = TestDirs.fresh("image");
        try {
            ExternalTool.Result build = ExternalTool.run(540, List.of(Path.of("..", "deploy", "image", "build.sh").toString(),
                    "--out", out.toString(), "--keep")).assertSuccess();
            System.out.println(build.stdout().strip());
            Path oci = out.resolve("ballast-0.1.0.oci.tar");
            Path docker = out.resolve("ballast-0.1.0.docker.tar");
            assertTrue(Files.size(oci) > 50L << 20 && Files.size(docker) > 50L << 20, build.stdout());
            // The archives are what `ctr images import` and `docker load` read: check their index/manifest.
            String ociIndex = ExternalTool.run(60, List.of("tar", "-xOf", oci.toString(), "index.json")).assertSuccess().stdout();
            assertTrue(ociIndex.contains("application/vnd.oci.image.manifest.v1+json"), ociIndex);
            String dockerManifest = ExternalTool.run(60, List.of("tar", "-xOf", docker.toString(), "manifest.json"))
                    .assertSuccess().stdout();
            assertTrue(dockerManifest.contains("ballast:0.1.0"), dockerManifest);
            Path bundle = out.resolve("bundle-0.1.0");
            long mib = Long.parseLong(ExternalTool.run(60, List.of("du", "-sm", bundle.resolve("rootfs").toString()))
                    .assertSuccess().stdout().split("\\s+")[0]);
            assertTrue(mib <= 250, "image " + mib + " MiB unpacked, goal 250");

            // Run it: the bundle's config.json (umoci's) with our command, under runc.
            String script = "for t in " + String.join(" ", NODE_TOOLS) + "; do command -v $t >/dev/null || echo missing $t; done; "
                    + "exec /usr/local/bin/ballast --version";
            Path config = bundle.resolve("config.json");
            String json = Files.readString(config);
            json = json.replaceFirst("\"args\":\\s*\\[[^\\]]*\\]",
                    java.util.regex.Matcher.quoteReplacement("\"args\":[\"/bin/sh\",\"-c\",\"" + script + "\"]"))
                    .replaceFirst("\"terminal\":\\s*true", "\"terminal\":false");
            Files.writeString(config, json);
            ExternalTool.Result run = ExternalTool.run(120, List.of("runc", "run", "--bundle", bundle.toString(),
                    "ballast-image-it-" + ProcessHandle.current().pid()));
            System.out.println("runc run ballast --version: " + run.stdout().strip() + run.stderr().strip());
            assertEquals(0, run.exitCode(), run.describe());
            assertTrue(!run.stdout().contains("missing"), "the node's tools are in the image:\n" + run.stdout());
            assertTrue(run.stdout().startsWith("ballast 0.1.0") && run.stdout().contains("java 2"), run.stdout());
            System.out.printf("image: %d MiB unpacked, OCI archive %d MiB, docker archive %d MiB%n", mib,
                    Files.size(oci) >> 20, Files.size(docker) >> 20);
        } finally {
            TestDirs.deleteTree(out); // ~0.5 GiB of archives and bundle
        }
    }
}

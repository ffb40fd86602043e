package io.ballast.cli;

import io.ballast.csi.identity.BallastVersion;
import io.ballast.daemon.CatalogMemberSource;
import io.ballast.daemon.NodeConfig;
import io.ballast.daemon.NodeRuntime;
import io.ballast.daemon.VolumeSpec;
import io.ballast.engine.store.NodeDirectory;
import io.ballast.kubernetes.Kubernetes;
import io.ballast.kubernetes.KubernetesCatalogMembers;
import io.ballast.kubernetes.NodeCertificateEnrollment;
import io.ballast.replication.rebuild.ScrubSchedule;
import io.ballast.replication.space.DiskWatermarks;
import io.ballast.replication.tls.EnrolledTlsDir;
import io.ballast.replication.tls.TlsDir;
import io.ballast.replication.tls.TlsMaterial;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code ballast node}: runs a storage node until SIGTERM/SIGINT. */
@Command(name = "node",
        mixinStandardHelpOptions = true,
        subcommands = {DrainCommands.Drain.class, DrainCommands.Undrain.class, AdmitCommands.Admit.class, AdmitCommands.Revoke.class},
        versionProvider = BallastVersion.class,
        description = {
            "Run a storage node: open (or format) its data directory and serve its volumes over NBD.",
            "",
            "Example:",
            "  ballast node --data-dir /var/lib/ballast --volume vol1:4G",
            "  fio --ioengine=nbd --uri='nbd+unix:///vol1?socket=/var/lib/ballast/nbd.sock' ...",
            "",
            "Maintenance of a cluster's node: 'ballast node drain NODE [--evacuate]', 'ballast node undrain NODE'."})
public final class NodeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    // Checked in call(), not by picocli: `ballast node drain` must not ask for it.
    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "The node's data directory; formatted on first start, refused if it belongs to another node.")
    Path dataDir;

    @Option(names = "--cluster-id", paramLabel = "ID",
            description = "Cluster this node belongs to (default: the one recorded in the data directory, or a new id).")
    String clusterId;

    @Option(names = "--node-id", paramLabel = "ID",
            description = "This node's id (default: the one recorded in the data directory, or the host name).")
    String nodeId;

    @Option(names = "--nbd-socket", paramLabel = "PATH",
            description = "Unix socket to serve NBD on (default: DIR/nbd.sock).")
    Path nbdSocket;

    @Option(names = "--nbd-listen", paramLabel = "HOST:PORT",
            description = "Also serve NBD over TCP on this address (off by default). With --tls-dir every TCP client must "
                    + "upgrade to TLS (NBD_OPT_STARTTLS) with a certificate of the cluster's CA; without it, plaintext "
                    + "and unauthenticated (logged as a warning).")
    String nbdListen;

    @Option(names = "--volume", paramLabel = "NAME:SIZE",
            description = "Create this volume if absent (e.g. vol1:4G). Repeatable. Existing volumes are always served.")
    List<String> volumes = new ArrayList<>();

    @Option(names = "--raft-listen", paramLabel = "HOST:PORT",
            description = "Serve Raft replication on this address: volumes become replica groups managed through the admin API.")
    String raftListen;

    @Option(names = "--admin-listen", paramLabel = "HOST:PORT",
            description = "Serve the node admin gRPC API (volume create/attach/status) on this address; needs --raft-listen.")
    String adminListen;

    @picocli.CommandLine.Mixin
    CatalogOptions catalog = new CatalogOptions();

    @Option(names = "--label", paramLabel = "KEY=VALUE",
            description = "Topology label recorded in the catalog and used for placement (e.g. zone=a). Repeatable.")
    List<String> labels = new ArrayList<>();

    @Option(names = "--csi-endpoint", paramLabel = "unix:///PATH",
            description = "Serve the CSI Identity and Node services on this unix socket (kubelet's plugin socket); needs --raft-listen.")
    String csiEndpoint;

    @Option(names = "--attach", defaultValue = "auto", paramLabel = "auto|nbd|fuse-loop",
            description = "How the CSI Node service makes a volume a block device: the kernel NBD client (where the kernel has "
                    + "the nbd module), a loop device over a FUSE file, or auto (nbd where the kernel has it). Default: ${DEFAULT-VALUE}.")
    String attach;

    @Option(names = "--key-dir", paramLabel = "DIR",
            description = "Where the CSI Node service keeps the passphrases of the encrypted volumes staged here, so that it can "
                    + "attach them again after a restart of this process. Put it on tmpfs (the DaemonSet uses /run/ballast/keys): "
                    + "a key must not reach a disk. Default: DIR/run/keys.")
    Path keyDir;

    @Option(names = "--fd-keeper", paramLabel = "PATH|none",
            description = "Socket of the descriptor keeper, a small process that holds the FUSE connections of staged volumes "
                    + "so that mounted filesystems wait for a restarted node instead of failing. One is started there when none "
                    + "answers (in Kubernetes run it as a container of its own: 'ballast fd-keeper'). Default: DIR/run/fd-keeper.sock; "
                    + "'none': no keeper.")
    String fdKeeper;

    @Option(names = "--metrics-listen", paramLabel = "HOST:PORT",
            description = "Serve Prometheus metrics (/metrics) on this address: replicas' Raft progress, rebuilds and integrity, NBD traffic, JVM.")
    String metricsListen;

    @Option(names = "--nearfull-ratio", paramLabel = "RATIO", defaultValue = "0.85",
            description = "Warn when the data disk is this full (a fraction of its size; default: ${DEFAULT-VALUE}).")
    double nearfullRatio;

    @Option(names = "--full-ratio", paramLabel = "RATIO", defaultValue = "0.95",
            description = "Refuse writes (ENOSPC at the client) of volumes whose leader, or a majority of whose replicas, sit on "
                    + "a data disk this full, so the Raft log never runs out of space (default: ${DEFAULT-VALUE}).")
    double fullRatio;

    @Option(names = "--rebuild-rate", paramLabel = "SIZE", defaultValue = "128M",
            description = "Pace of a replica rebuild's block copy from this node's replicas' leaders, per second, so "
                    + "foreground I/O keeps most of the disk; 0: unpaced (default: ${DEFAULT-VALUE}; a replica back from an "
                    + "outage copies only the regions written meanwhile).")
    String rebuildRate;

    @Option(names = "--scrub-interval", paramLabel = "DURATION", defaultValue = "7d",
            description = "Scrub each replica on this node this often without being asked: read every block of the volume "
                    + "and of its snapshot copies, check its checksum, repair a bad one from a peer. One replica at a time, the most overdue first; the clock "
                    + "survives restarts. 0: only 'ballast volume scrub' (default: ${DEFAULT-VALUE}).")
    String scrubInterval;

    @Option(names = "--scrub-rate", paramLabel = "SIZE", defaultValue = "32M",
            description = "Pace of those scheduled scrubs' reads, per second; 0: unpaced (default: ${DEFAULT-VALUE}). "
                    + "A scrub asked for with 'ballast volume scrub' runs unpaced.")
    String scrubRate;

    @Option(names = "--log-budget", paramLabel = "SIZE", defaultValue = "256M",
            description = "The least disk space each replica's Raft log and entry journal may take; a volume's budget is "
                    + "this or a tenth of its size, whichever is larger (default: ${DEFAULT-VALUE}). Placement reserves "
                    + "the default.")
    String logBudget;

    @Option(names = "--tls-dir", paramLabel = "DIR",
            description = "Mutual TLS on the raft and admin ports with the cluster's certificates in DIR: tls.crt, tls.key "
                    + "and ca.crt (a cert-manager Secret, or 'ballast certs issue'); peers and clients without a certificate "
                    + "of that CA are refused. Without it both ports are plaintext (a warning says so).")
    Path tlsDir;

    @Option(names = "--tls-from", paramLabel = "kubernetes",
            description = "Get this node's certificate from the Kubernetes API instead of files made beforehand: the key is "
                    + "made in --tls-dir (default DATA/tls) and never leaves it, a CertificateSigningRequest asks the controller "
                    + "(--tls-from=kubernetes there too) to certify it, and it is renewed before it expires. Needs --node-id.")
    String tlsFrom;

    @Option(names = "--leader-homing-delay", paramLabel = "DURATION", defaultValue = "30s",
            description = "Move the Raft leadership of a volume attached here back here once it has been on another node "
                    + "this long (after an election, a full disk or a drain elsewhere, or 'volume lead'), so writes go "
                    + "straight into the local log again; not while this node is full or drained, nor for multi-writer "
                    + "or diskless attachments; 0s: never (default: ${DEFAULT-VALUE}).")
    String leaderHomingDelay;

    @Option(names = "--io-threads", paramLabel = "N", defaultValue = "8",
            description = "Threads doing disk I/O for NBD requests (default: ${DEFAULT-VALUE}).")
    int ioThreads;

    @Override
    public Integer call() throws Exception {
        if (dataDir == null) {
            throw new ParameterException(spec.commandLine(), "Missing required option: '--data-dir=DIR'");
        }
        if (adminListen != null && raftListen == null) {
            throw new ParameterException(spec.commandLine(), "--admin-listen needs --raft-listen (the admin API manages replicated volumes)");
        }
        if (csiEndpoint != null && raftListen == null) {
            throw new ParameterException(spec.commandLine(), "--csi-endpoint needs --raft-listen: the CSI Node service serves replicated volumes");
        }
        if ((!catalog.members.isEmpty() || catalog.discovered()) && (adminListen == null || raftListen == null)) {
            throw new ParameterException(spec.commandLine(), "--catalog needs --raft-listen and --admin-listen: the controller reaches the node there");
        }
        if (catalog.discovered() && nodeId == null) {
            throw new ParameterException(spec.commandLine(), "--catalog-from needs --node-id: the Kubernetes node name "
                    + "(the downward API's spec.nodeName)");
        }
        rebuildBytesPerSecond(); // a bad size is a usage error, before anything starts
        size("--log-budget", logBudget);
        java.time.Duration homingDelay = Durations.option(spec, "--leader-homing-delay", leaderHomingDelay);
        ScrubSchedule.Policy scrub = new ScrubSchedule.Policy(
                "0".equals(scrubInterval.strip()) ? java.time.Duration.ZERO : Durations.option(spec, "--scrub-interval", scrubInterval),
                size("--scrub-rate", scrubRate));
        DiskWatermarks watermarks;
        try {
            watermarks = new DiskWatermarks(nearfullRatio, fullRatio);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--nearfull-ratio/--full-ratio: " + e.getMessage());
        }
        Path tls = tlsDir(); // after the usage checks above: it may wait for the controller to sign
        CatalogMemberSource source = catalog.source(spec);
        Map<String, String> topology = CatalogOptions.labels(spec, labels);
        if (source instanceof KubernetesCatalogMembers k8s && !topology.containsKey("zone")) {
            topology.putAll(k8s.labelsOf(nodeId));
        }
        NodeConfig config = new NodeConfig(
                dataDir.toAbsolutePath(),
                clusterId,
                nodeId,
                nbdSocket != null ? nbdSocket.toAbsolutePath() : dataDir.toAbsolutePath().resolve("nbd.sock"),
                parseAddress("--nbd-listen", nbdListen),
                parseVolumes(volumes),
                ioThreads,
                parseAddress("--raft-listen", raftListen),
                parseAddress("--admin-listen", adminListen),
                catalog.resolve(spec, source),
                topology).toBuilder().csiEndpoint(csiEndpoint).attach(attach)
                .metricsListen(parseAddress("--metrics-listen", metricsListen))
                .fdKeeper(fdKeeper == null ? dataDir.toAbsolutePath().resolve("run").resolve("fd-keeper.sock")
                        : fdKeeper.equals("none") ? null : Path.of(fdKeeper).toAbsolutePath())
                .diskWatermarks(watermarks)
                .rebuildBytesPerSecond(rebuildBytesPerSecond())
                .logBudgetMin(size("--log-budget", logBudget))
                .tls(tls == null ? null : TlsMaterial.of(TlsDir.of(tls), clusterId))
                .keyDir(keyDir == null ? null : keyDir.toAbsolutePath())
                .leaderHomingDelay(homingDelay)
                .scrub(scrub)
                .build();
        if (!List.of("auto", "nbd", "fuse-loop").contains(attach)) {
            throw new ParameterException(spec.commandLine(), "--attach '" + attach + "': use auto, nbd or fuse-loop");
        }

        CountDownLatch stopped = new CountDownLatch(1);
        NodeRuntime node = NodeRuntime.start(config, source);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            node.close();
            stopped.countDown();
        }, "shutdown"));
        // One machine-readable line: scripts and tests wait for it.
        spec.commandLine().getOut().println("ballast node ready: " + node.describe());
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }

    /**
     * The TLS directory, null for none; with --tls-from=kubernetes, once it holds a certificate
     * from the controller (waited for here, then renewed in the background).
     */
    private Path tlsDir() throws InterruptedException {
        if (tlsFrom == null) {
            return tlsDir == null ? null : tlsDir.toAbsolutePath();
        }
        if (!tlsFrom.equals("kubernetes")) {
            throw new ParameterException(spec.commandLine(), "--tls-from '" + tlsFrom + "': the only source is 'kubernetes'");
        }
        if (nodeId == null) {
            throw new ParameterException(spec.commandLine(), "--tls-from=kubernetes needs --node-id: the Kubernetes node name "
                    + "the certificate is issued to");
        }
        Path dir = tlsDir != null ? tlsDir.toAbsolutePath() : dataDir.toAbsolutePath().resolve(NodeDirectory.TLS_DIR);
        NodeCertificateEnrollment enrollment = new NodeCertificateEnrollment(Kubernetes.client(), nodeId, new EnrolledTlsDir(dir));
        enrollment.ensure();
        enrollment.startRenewing(); // a daemon thread for the process's life
        return dir;
    }

    private InetSocketAddress parseAddress(String option, String text) {
        return address(spec, option, text);
    }

    /** Parses {@code HOST:PORT} for {@code option}; null for null; a usage error saying what is wrong. */
    static InetSocketAddress address(CommandSpec spec, String option, String text) {
        if (text == null) {
            return null;
        }
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            throw new ParameterException(spec.commandLine(), option + " '" + text + "': expected HOST:PORT, e.g. 127.0.0.1:10809");
        }
        try {
            int port = Integer.parseInt(text.substring(colon + 1));
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            return new InetSocketAddress(text.substring(0, colon), port);
        } catch (NumberFormatException e) {
            throw new ParameterException(spec.commandLine(), option + " '" + text + "': port must be 0..65535");
        }
    }

    private List<VolumeSpec> parseVolumes(List<String> specs) {
        List<VolumeSpec> out = new ArrayList<>();
        for (String s : specs) {
            out.add(parseVolume(spec, "--volume", s));
        }
        return out;
    }

    /** Parses {@code NAME:SIZE} (e.g. vol1:4G); a usage error naming {@code option} otherwise. */
    static VolumeSpec parseVolume(CommandSpec spec, String option, String s) {
        int colon = s.lastIndexOf(':');
        if (colon <= 0) {
            throw new ParameterException(spec.commandLine(), option + " '" + s + "': expected NAME:SIZE, e.g. vol1:4G");
        }
        try {
            return new VolumeSpec(s.substring(0, colon), ByteSize.parse(s.substring(colon + 1)));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), option + " '" + s + "': " + e.getMessage());
        }
    }

    private long rebuildBytesPerSecond() {
        return size("--rebuild-rate", rebuildRate);
    }

    private long size(String option, String text) {
        try {
            return ByteSize.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), option + ": " + e.getMessage());
        }
    }
}

package io.ballast.cli;

import io.ballast.proto.v1.CatalogNode;
import io.ballast.proto.v1.CatalogVolume;
import io.ballast.proto.v1.GetClusterStateRequest;
import io.ballast.proto.v1.GetClusterStateResponse;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The CLI's view of a cluster: the catalog as the first reachable node of a {@link ClusterAddress}
 * answered it. When none answers, a {@link CliFailure} (exit 2) lists every address tried, what
 * failed there, and what to check; never a bare "io exception".
 */
final class ClusterConnection {
    private static final long DEADLINE_SECONDS = 10;

    private final GetClusterStateResponse state;
    private final String answeredAt;

    private ClusterConnection(GetClusterStateResponse state, String answeredAt) {
        this.state = state;
        this.answeredAt = answeredAt;
    }

    static ClusterConnection open(ClusterAddress address) {
        List<String> failures = new ArrayList<>();
        for (String a : address.addresses()) {
            ManagedChannel channel = CliTls.channel(a);
            try {
                GetClusterStateResponse r = NodeAdminGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
                        .getClusterState(GetClusterStateRequest.getDefaultInstance());
                return new ClusterConnection(r, a);
            } catch (StatusRuntimeException e) {
                failures.add(a + ": " + describe(e));
            } finally {
                channel.shutdownNow();
            }
        }
        throw new CliFailure(CliFailure.UNREACHABLE, "cannot reach the cluster (addresses from " + address.source() + "):\n  "
                + String.join("\n  ", failures) + "\ncheck that a Ballast node runs there and that HOST:PORT is its admin "
                + "address (--admin-listen), or pass --cluster HOST:PORT / set " + ClusterAddress.ENV);
    }

    /** What a failed call to {@code address} means, in words. */
    static String describe(StatusRuntimeException e) {
        Status s = e.getStatus();
        String cause = e.getCause() != null ? e.getCause().getMessage() : null;
        return switch (s.getCode()) {
            case UNAVAILABLE -> s.getDescription() != null && !s.getDescription().startsWith("io exception")
                    && !s.getDescription().startsWith("Network closed")
                    ? "unavailable: " + s.getDescription()
                    : "nothing answers there, or it refused this connection (" + (cause != null ? cause
                            : s.getDescription() != null ? s.getDescription() : "connection failed")
                            + "; a cluster with TLS needs the CLI's certificate: set " + CliTls.ENV + ")";
            case DEADLINE_EXCEEDED -> "no answer within " + DEADLINE_SECONDS + " s (a paused or overloaded node?)";
            case UNIMPLEMENTED -> "it answers but is not a Ballast node of this version (no GetClusterState)";
            default -> s.getCode() + ": " + (s.getDescription() != null ? s.getDescription() : "no details");
        };
    }

    GetClusterStateResponse state() {
        return state;
    }

    String answeredAt() {
        return answeredAt;
    }

    /** The catalog volume named {@code nameOrId} (the name a user or Kubernetes gave, or the id). */
    Optional<CatalogVolume> volume(String nameOrId) {
        return state.getState().getVolumesList().stream().filter(v -> v.getId().equals(nameOrId)).findFirst()
                .or(() -> state.getState().getVolumesList().stream().filter(v -> v.getName().equals(nameOrId)).findFirst());
    }

    Optional<CatalogNode> node(String nodeId) {
        return state.getState().getNodesList().stream().filter(n -> n.getNodeId().equals(nodeId)).findFirst();
    }

    /** The volume as named, else NOT_FOUND-like failure (exit 1) saying where to look. */
    CatalogVolume requireVolume(String nameOrId) {
        return volume(nameOrId).orElseThrow(() -> new CliFailure(1, "no volume named or with id '" + nameOrId
                + "' in the cluster (asked " + state.getNodeId() + " at " + answeredAt + "); `ballast volume list` shows them"));
    }
}

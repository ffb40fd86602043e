package io.ballast.admin;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.Peer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** The admin API's checks of names, snapshot ids and peers: INVALID_ARGUMENT naming what was wrong. Stateless. */
final class AdminArguments {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}");
    private static final Pattern ADDRESS = Pattern.compile("[^\\s:]+:\\d{1,5}");

    private AdminArguments() {
    }

    /** Whether {@code id} has a node id's form. */
    static boolean isNodeId(String id) {
        return NAME.matcher(id).matches();
    }

    /** The peers of a new volume, node id to raft address, each with both and none twice. */
    static Map<String, String> peers(List<Peer> list) {
        Map<String, String> peers = new LinkedHashMap<>();
        for (Peer p : list) {
            if (!NAME.matcher(p.getNodeId()).matches() || !ADDRESS.matcher(p.getRaftAddress()).matches()) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "peer '" + p.getNodeId() + "' at '"
                        + p.getRaftAddress() + "': expected a node id and a raft address host:port");
            }
            if (peers.put(p.getNodeId(), p.getRaftAddress()) != null) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "peer " + p.getNodeId() + " listed twice");
            }
        }
        return peers;
    }

    static void checkName(String name) {
        if (!NAME.matcher(name).matches()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT,
                    "volume name '" + name + "' must match " + NAME.pattern());
        }
    }

    /** A peer with a node id and (required or, when empty, omitted) raft address host:port. */
    static Peer checkPeer(Peer p, boolean addressRequired) {
        if (!NAME.matcher(p.getNodeId()).matches()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "replica node id '" + p.getNodeId()
                    + "' must match " + NAME.pattern());
        }
        if ((addressRequired || !p.getRaftAddress().isEmpty()) && !ADDRESS.matcher(p.getRaftAddress()).matches()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "raft address '" + p.getRaftAddress()
                    + "' of replica " + p.getNodeId() + ": expected HOST:PORT");
        }
        return p;
    }

    static void checkSnapshotId(String id) {
        if (!NAME.matcher(id).matches()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT,
                    "snapshot id '" + id + "' must match " + NAME.pattern());
        }
    }
}

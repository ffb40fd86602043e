package io.ballast.replication.membership;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.store.NodeDirectory;
import io.ballast.replication.ratis.RatisErrors;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.GroupInfoReply;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.protocol.exceptions.AlreadyExistsException;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.apache.ratis.server.RaftConfiguration;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Membership changes of a live volume group, run from any node that holds a replica of it.
 *
 * <p><b>Add</b>: the group is first added on the new node's Raft server (it starts without a vote:
 * it is not in any configuration yet), then {@code setConfiguration} asks the leader to include it.
 * Ratis stages a new peer until it has caught up, and a bootstrapping peer is always told to
 * install a snapshot first, so the new replica is built by our block copy
 * ({@link io.ballast.replication.statemachine.VolumeStateMachine#notifyInstallSnapshotFromLeader VolumeStateMachine.notifyInstallSnapshotFromLeader}) and then replays the log after the
 * copied index. The call returns once the new configuration is committed, i.e. the replica votes.
 *
 * <p><b>Re-add</b> of a member whose node lost its replica (wiped disk): it is removed from the
 * configuration and added back as above, so it never votes with an empty log.
 *
 * <p><b>Remove</b>: {@code setConfiguration} without the member, then the group is removed on that
 * node, which deletes its replica ({@link io.ballast.replication.statemachine.VolumeStateMachine#notifyGroupRemove VolumeStateMachine.notifyGroupRemove}).
 *
 * <p>Both use compare-and-set against the configuration this node sees, so two concurrent changes
 * cannot silently undo each other: the loser gets FAILED_PRECONDITION and nothing changes. Every
 * check that can refuse runs before anything is changed.
 */
public final class Membership {
    private static final Logger LOG = LoggerFactory.getLogger(Membership.class);
    /** How a Ratis server says it does not host a group ("n3: group-5AA9DD7F7164 not found."). */
    private static final java.util.regex.Pattern NOT_HOSTED = java.util.regex.Pattern.compile("group-[0-9A-Fa-f]+ not found");

    /** The outcome of an add: a new member, or a member that had lost its replica and re-joined. */
    public enum Added { NEW_MEMBER, REJOINED }

    /** The outcome of a remove: whether the removed node confirmed deleting its replica. */
    public record Removed(boolean dataDeleted, String cleanupError) {}

    private final Function<RaftGroup, RaftClient> clients;
    private final Function<RaftGroup, RaftClient> slowClients;

    /**
     * @param clients     ordinary clients (group management calls answer quickly)
     * @param slowClients clients whose request timeout covers a full rebuild of a new member
     */
    public Membership(Function<RaftGroup, RaftClient> clients, Function<RaftGroup, RaftClient> slowClients) {
        this.clients = clients;
        this.slowClients = slowClients;
    }

    public static void checkPeer(String nodeId, String address) {
        if (nodeId == null || !NodeDirectory.VOLUME_NAME.matcher(nodeId).matches()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "node id '" + nodeId
                    + "' must be 1-128 characters [a-zA-Z0-9._-], starting with a letter or digit");
        }
        if (address == null) {
            return;
        }
        int colon = address.lastIndexOf(':');
        String host = colon < 0 ? "" : address.substring(0, colon);
        int port;
        try {
            port = colon < 0 ? -1 : Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (host.isBlank() || host.chars().anyMatch(Character::isWhitespace) || port < 1 || port > 65535) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "raft address '" + address
                    + "' of " + nodeId + " must be HOST:PORT with a port in 1..65535");
        }
    }

    /** The committed, stable member list (node id -> address); FAILED_PRECONDITION while a change is under way. */
    public static Map<String, String> members(RaftServer.Division d, String volume) {
        RaftConfiguration conf = d.getRaftConf();
        if (!conf.getPreviousPeers().isEmpty()) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION,
                    "a membership change of volume " + volume + " is still in progress; retry when it finished");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (RaftPeer p : conf.getCurrentPeers()) {
            m.put(p.getId().toString(), p.getAddress());
        }
        return m;
    }

    public Added add(RaftServer.Division d, String volume, String nodeId, String address) {
        checkPeer(nodeId, address);
        Map<String, String> current = members(d, volume);
        for (Map.Entry<String, String> m : current.entrySet()) {
            if (m.getValue().equals(address) && !m.getKey().equals(nodeId)) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "raft address " + address + " belongs to member "
                        + m.getKey() + " of volume " + volume + ", not to " + nodeId);
            }
        }
        String known = current.get(nodeId);
        if (known != null && !known.equals(address)) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, nodeId + " is a member of volume " + volume
                    + " at " + known + ", not at " + address);
        }
        RaftGroupId gid = d.getGroup().getGroupId();
        if (known != null) {
            String hosted = hostedIdentity(RaftGroup.valueOf(gid, peers(current)), nodeId, volume);
            if (nodeId.equals(hosted)) {
                throw new BallastException(ErrorCode.ALREADY_EXISTS, nodeId + " is already a member of volume " + volume
                        + " and holds its replica (members: " + current.keySet() + ")");
            }
            if (hosted != null) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "the node at " + address + " is " + hosted
                        + ", not member " + nodeId + " of volume " + volume);
            }
            // The member's node lost its replica (wiped disk, re-formatted). Simply giving it the
            // group back would make an empty node a voter at once, and it may have counted toward
            // a commit it no longer holds: take it out of the configuration, then add it like a
            // new node, which votes only once it has been rebuilt and caught up.
            Map<String, String> without = new LinkedHashMap<>(current);
            without.remove(nodeId);
            setConfiguration(clients, RaftGroup.valueOf(gid, peers(current)), RaftGroup.valueOf(gid, peers(without)), volume);
            LOG.info("volume {}: member {} had lost its replica; taken out of the group to be added back", volume, nodeId);
            try {
                addNew(gid, without, volume, nodeId, address);
            } catch (RuntimeException e) {
                throw new BallastException(e instanceof BallastException be ? be.code() : ErrorCode.INTERNAL,
                        nodeId + " had lost its replica and was taken out of volume " + volume + " to be re-added, "
                                + "but re-adding failed (retry add-replica): " + e.getMessage(), e);
            }
            return Added.REJOINED;
        }
        addNew(gid, current, volume, nodeId, address);
        return Added.NEW_MEMBER;
    }

    private void addNew(RaftGroupId gid, Map<String, String> current, String volume, String nodeId, String address) {
        RaftGroup oldGroup = RaftGroup.valueOf(gid, peers(current));
        Map<String, String> target = new LinkedHashMap<>(current);
        target.put(nodeId, address);
        RaftGroup newGroup = RaftGroup.valueOf(gid, peers(target));
        boolean hostedBefore = !addGroupOn(newGroup, nodeId, volume);
        checkIdentity(newGroup, nodeId, address, volume, hostedBefore);
        try {
            setConfiguration(slowClients, oldGroup, newGroup, volume);
        } catch (RuntimeException e) {
            if (!hostedBefore) {
                // Undo the group we added on the new node: it never became a member, its copy is partial.
                try {
                    removeGroupOn(newGroup, nodeId);
                } catch (RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
        LOG.info("volume {}: {} at {} added; members now {}", volume, nodeId, address, target.keySet());
    }

    /**
     * The id the server at {@code nodeId}'s address reports for the group, or null when that
     * server does not host the group. UNAVAILABLE when nothing answers.
     */
    private String hostedIdentity(RaftGroup group, String nodeId, String volume) {
        try (RaftClient client = clients.apply(group)) {
            GroupInfoReply info = client.getGroupManagementApi(RaftPeerId.valueOf(nodeId)).info(group.getGroupId());
            if (info.isSuccess()) {
                return info.getRoleInfoProto().getSelf().getId().toStringUtf8();
            }
            if (isGroupMismatch(info.getException())) {
                return null;
            }
            throw unreachable(RatisErrors.of(info, "group info of " + volume + " on " + nodeId), nodeId, group);
        } catch (IOException | RuntimeException e) {
            // Ratis 3.3 reports an unknown group as an unchecked gRPC INTERNAL status, not as an IOException.
            if (isGroupMismatch(e)) {
                return null;
            }
            throw unreachable(RatisErrors.map(e, "group info of " + volume + " on " + nodeId), nodeId, group);
        }
    }

    private static boolean isGroupMismatch(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = String.valueOf(c.getMessage());
            if (c instanceof GroupMismatchException || m.contains("GroupMismatchException") || NOT_HOSTED.matcher(m).find()) {
                return true;
            }
        }
        return false;
    }

    public Removed remove(RaftServer.Division d, String volume, String nodeId, String address) {
        checkPeer(nodeId, null);
        Map<String, String> current = members(d, volume);
        String known = current.get(nodeId);
        if (known == null) {
            throw new BallastException(ErrorCode.NOT_FOUND, nodeId + " is not a member of volume " + volume
                    + " (members: " + current.keySet() + ")");
        }
        if (address != null && !address.isEmpty() && !address.equals(known)) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, nodeId + " is a member of volume " + volume
                    + " at " + known + ", not at " + address);
        }
        if (current.size() <= 1) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, nodeId + " holds the last replica of volume "
                    + volume + "; removing it would destroy the volume");
        }
        RaftGroup oldGroup = RaftGroup.valueOf(d.getGroup().getGroupId(), peers(current));
        Map<String, String> target = new LinkedHashMap<>(current);
        target.remove(nodeId);
        RaftGroup newGroup = RaftGroup.valueOf(oldGroup.getGroupId(), peers(target));
        setConfiguration(clients, oldGroup, newGroup, volume);
        LOG.info("volume {}: {} removed from the group; members now {}", volume, nodeId, target.keySet());
        try {
            removeGroupOn(oldGroup, nodeId);
            return new Removed(true, "");
        } catch (RuntimeException e) {
            // The membership change is committed; a node that is down keeps a stale replica that no
            // leader serves any more. Report it rather than fail the (done) removal.
            LOG.warn("volume {}: {} left the group but its replica was not deleted: {}", volume, nodeId, e.getMessage());
            return new Removed(false, e.getMessage());
        }
    }

    /** Adds the group on {@code nodeId}; false when that server already hosted it. */
    private boolean addGroupOn(RaftGroup group, String nodeId, String volume) {
        try (RaftClient client = clients.apply(group)) {
            RaftClientReply r = client.getGroupManagementApi(RaftPeerId.valueOf(nodeId)).add(group);
            if (r.isSuccess()) {
                return true;
            }
            if (RatisErrors.alreadyExists(r)) {
                return false;
            }
            throw unreachable(RatisErrors.of(r, "add group of " + volume + " on " + nodeId), nodeId, group);
        } catch (AlreadyExistsException e) {
            return false;
        } catch (IOException e) {
            throw unreachable(RatisErrors.map(e, "add group of " + volume + " on " + nodeId), nodeId, group);
        }
    }

    /**
     * Ratis routes group-management requests by address and does not check that the server there
     * has the id we named, so "n9 at n3's address" would make n3 a member under a false name. The
     * server reports its real id for a group it hosts: compare, and undo the add on a mismatch.
     */
    private void checkIdentity(RaftGroup group, String nodeId, String address, String volume, boolean hostedBefore) {
        String actual;
        try (RaftClient client = clients.apply(group)) {
            GroupInfoReply info = client.getGroupManagementApi(RaftPeerId.valueOf(nodeId)).info(group.getGroupId());
            actual = info.getRoleInfoProto().getSelf().getId().toStringUtf8();
        } catch (IOException e) {
            actual = null;
        }
        if (nodeId.equals(actual)) {
            return;
        }
        if (!hostedBefore) {
            try {
                removeGroupOn(group, nodeId);
            } catch (RuntimeException e) {
                LOG.warn("volume {}: could not undo the group added at {}: {}", volume, address, e.getMessage());
            }
        }
        throw new BallastException(ErrorCode.INVALID_ARGUMENT, actual == null
                ? "the node at " + address + " did not confirm that it is " + nodeId
                : "the node at " + address + " is " + actual + ", not " + nodeId);
    }

    private static BallastException unreachable(BallastException e, String nodeId, RaftGroup group) {
        if (e.code() != ErrorCode.UNAVAILABLE) {
            return e;
        }
        return new BallastException(ErrorCode.UNAVAILABLE, "no Ballast node " + nodeId + " answers at "
                + group.getPeer(RaftPeerId.valueOf(nodeId)).getAddress() + " (" + e.getMessage() + ")", e);
    }

    /**
     * Removes the group on {@code nodeId} with its directory. A node that does not host it is done
     * already: that is also the answer to a removal the client sent again after its request timeout
     * while the first one was still closing the division.
     */
    private void removeGroupOn(RaftGroup group, String nodeId) {
        try (RaftClient client = clients.apply(group)) {
            RaftClientReply r = client.getGroupManagementApi(RaftPeerId.valueOf(nodeId)).remove(group.getGroupId(), true, false);
            if (r.getException() instanceof GroupMismatchException) {
                LOG.debug("group {} is not on {}: nothing to remove", group.getGroupId(), nodeId);
                return;
            }
            BallastException e = RatisErrors.of(r, "remove group on " + nodeId);
            if (e != null) {
                throw e;
            }
        } catch (GroupMismatchException e) {
            LOG.debug("group {} is not on {}: nothing to remove", group.getGroupId(), nodeId);
        } catch (IOException e) {
            throw RatisErrors.map(e, "remove group on " + nodeId);
        }
    }

    private static void setConfiguration(Function<RaftGroup, RaftClient> clients, RaftGroup from, RaftGroup to, String volume) {
        SetConfigurationRequest.Arguments args = SetConfigurationRequest.Arguments.newBuilder()
                .setServersInCurrentConf(new ArrayList<>(from.getPeers()))
                .setServersInNewConf(new ArrayList<>(to.getPeers()))
                .setMode(SetConfigurationRequest.Mode.COMPARE_AND_SET)
                .build();
        // The client talks to the old members: the new one cannot answer for the group yet.
        try (RaftClient client = clients.apply(from)) {
            RaftClientReply r = client.admin().setConfiguration(args);
            BallastException e = RatisErrors.of(r, "membership change of " + volume);
            if (e != null) {
                throw casConflict(e, volume);
            }
        } catch (IOException e) {
            throw casConflict(RatisErrors.map(e, "membership change of " + volume), volume);
        }
    }

    /** Ratis refuses a compare-and-set whose expected members differ: say so in our terms. */
    private static BallastException casConflict(BallastException e, String volume) {
        if (String.valueOf(e.getMessage()).contains("COMPARE_AND_SET")
                || String.valueOf(e.getMessage()).contains("SetConfigurationException")) {
            return new BallastException(ErrorCode.FAILED_PRECONDITION,
                    "the members of volume " + volume + " changed meanwhile or the change was refused: " + e.getMessage(), e);
        }
        return e;
    }

    private static List<RaftPeer> peers(Map<String, String> members) {
        List<RaftPeer> list = new ArrayList<>();
        members.forEach((id, addr) -> list.add(RaftPeer.newBuilder().setId(id).setAddress(addr).build()));
        return list;
    }
}

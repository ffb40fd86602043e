package io.ballast.replication.catalog;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.CatalogState;
import io.ballast.replication.membership.Membership;
import io.ballast.replication.ratis.LocalGroupRequest;
import io.ballast.replication.ratis.RatisErrors;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.exceptions.AlreadyExistsException;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part in the cluster catalog's Raft group, hosted by the node's Raft server beside
 * its volume groups: joining the group, whether this node leads it, and changing its members.
 */
public final class CatalogMember {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogMember.class);
    private final RaftServer server;
    private final String nodeId;
    private final RaftGroupId groupId;
    private final Membership membership;

    public CatalogMember(RaftServer server, String nodeId, String clusterId, Membership membership) {
        this.server = server;
        this.nodeId = nodeId;
        this.groupId = CatalogStateMachine.groupIdOf(clusterId);
        this.membership = membership;
    }

    /**
     * Makes this node a member of the cluster's catalog group ({@code members}: node id ->
     * raft host:port, this node among them) unless it already is (restarts find the group in
     * storage). Every member is started with the same list: that forms the group.
     */
    public void join(Map<String, String> members) {
        if (!members.containsKey(nodeId)) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "node " + nodeId
                    + " is not in the catalog member list " + members.keySet());
        }
        for (RaftGroupId existing : server.getGroupIds()) {
            if (existing.equals(groupId)) {
                return;
            }
        }
        List<RaftPeer> peers = new ArrayList<>();
        members.forEach((id, addr) -> peers.add(RaftPeer.newBuilder().setId(id).setAddress(addr).build()));
        RaftGroup group = RaftGroup.valueOf(groupId, peers);
        try {
            RaftClientReply r = LocalGroupRequest.add(server, group, true);
            BallastException e = RatisErrors.of(r, "join the catalog group");
            if (e != null && !RatisErrors.alreadyExists(r)) {
                throw e;
            }
            LOG.info("joined the catalog group {} with members {}", groupId, members);
        } catch (AlreadyExistsException e) {
            LOG.debug("catalog group already here");
        } catch (IOException e) {
            throw RatisErrors.map(e, "join the catalog group");
        }
    }

    /** True while this node hosts the catalog group and is its leader. */
    public boolean leads() {
        RaftServer.Division d = division();
        return d != null && d.getInfo().isLeader();
    }

    /**
     * The catalog group's committed members (node id -> raft address) as this node sees them.
     * NOT_FOUND when this node does not host the catalog, FAILED_PRECONDITION during a change.
     */
    public Map<String, String> members() {
        return Membership.members(requireDivision(), "catalog");
    }

    /**
     * Adds a catalog member (run on a member, best on the leader): the group is added on the new
     * node, which is brought up to date from a catalog snapshot before it votes.
     */
    public void addMember(String memberId, String address) {
        Membership.checkPeer(memberId, address);
        membership.add(requireDivision(), "catalog", memberId, address);
    }

    /** Removes a catalog member; its node drops the group if it answers. */
    public void removeMember(String memberId) {
        membership.remove(requireDivision(), "catalog", memberId, null);
    }

    /** This node's copy of the catalog (may lag the leader), or null when it is not a member. */
    public CatalogState localCopy() {
        RaftServer.Division d = division();
        if (d == null) {
            return null;
        }
        try {
            var reply = d.getStateMachine().query(Message.EMPTY).join();
            return CatalogState.parseFrom(reply.getContent().toByteArray());
        } catch (IOException e) {
            return null;
        }
    }

    private RaftServer.Division division() {
        try {
            return server.getDivision(groupId);
        } catch (IOException e) {
            return null;
        }
    }

    private RaftServer.Division requireDivision() {
        RaftServer.Division d = division();
        if (d == null) {
            throw new BallastException(ErrorCode.NOT_FOUND, "node " + nodeId + " does not host the catalog");
        }
        return d;
    }
}

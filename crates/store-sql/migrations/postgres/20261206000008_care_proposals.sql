-- A partner's proposal of a couple's therapist, and the other partner's answer.
-- Until the other partner accepts, the proposer's care team is one-to-one care.
CREATE TABLE care_proposals (
    id           UUID PRIMARY KEY,
    couple_id    UUID NOT NULL REFERENCES couples (id),
    care_team_id UUID NOT NULL REFERENCES care_teams (id),
    therapist_id UUID NOT NULL REFERENCES accounts (id),
    proposed_by  UUID NOT NULL REFERENCES accounts (id),
    proposed_at  BIGINT NOT NULL,
    -- Why the therapist was suggested, one reason a line (never health details).
    reasons      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'declined', 'withdrawn')),
    answered_by  UUID REFERENCES accounts (id),
    answered_at  BIGINT
);
CREATE UNIQUE INDEX care_proposals_one_pending ON care_proposals (couple_id) WHERE state = 'pending';
CREATE INDEX care_proposals_by_couple ON care_proposals (couple_id, proposed_at);
CREATE INDEX care_proposals_by_team ON care_proposals (care_team_id);

-- Couple care started before proposals existed was begun by one partner alone and
-- both were placed in its rooms; it stays in force, recorded as accepted by the other.
INSERT INTO care_proposals (id, couple_id, care_team_id, therapist_id, proposed_by, proposed_at, reasons, state,
                            answered_by, answered_at)
SELECT t.id, t.couple_id, t.id, t.therapist_id, t.client_id, t.started_at, '', 'accepted', other.account_id, t.started_at
FROM care_teams t
JOIN couple_members me ON me.couple_id = t.couple_id AND me.account_id = t.client_id
JOIN couple_members other ON other.couple_id = t.couple_id AND other.account_id <> t.client_id
WHERE t.ended_at IS NULL;

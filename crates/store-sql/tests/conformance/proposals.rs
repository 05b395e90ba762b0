//! Care proposals between partners: one pending per couple, answered once,
//! withdrawn with their care team; a one-to-one room repurposed as a private channel.

use super::*;
use rapport_domain::room::RoomKind;
use rapport_domain::RoomId;
use rapport_store::{CareProposal, CareProposalState, Room};

conformance! {
    care_proposals_lifecycle => sqlite_care_proposals_lifecycle, postgres_care_proposals_lifecycle;
    a_proposal_ends_with_its_care_team => sqlite_a_proposal_ends_with_its_care_team,
        postgres_a_proposal_ends_with_its_care_team;
    a_room_can_be_repurposed => sqlite_a_room_can_be_repurposed, postgres_a_room_can_be_repurposed;
}

/// A linked couple and two therapists.
async fn couple_and_therapists(store: &dyn Store) -> (Couple, AccountId, AccountId) {
    let riley = insert_person(store, "riley@example.org", Role::Client).await;
    let sam = insert_person(store, "sam@example.org", Role::Client).await;
    let first = insert_person(store, "first@example.org", Role::Therapist).await;
    let second = insert_person(store, "second@example.org", Role::Therapist).await;
    let couple = Couple { id: CoupleId::new(), partner_a: riley, partner_b: sam, linked_at: now() - Duration::days(3) };
    store.insert_couple(&couple).await.unwrap();
    (couple, first, second)
}

/// Starts `client`'s care with `therapist` for the couple, and proposes it.
async fn propose(
    store: &dyn Store,
    couple: &Couple,
    client: AccountId,
    therapist: AccountId,
    at: DateTime<Utc>,
) -> (CareTeam, CareProposal) {
    let team = CareTeam { couple_id: Some(couple.id), ..care_team(client, therapist, at) };
    store.start_care(&team, None).await.unwrap();
    let proposal = CareProposal {
        id: Uuid::now_v7(),
        couple_id: couple.id,
        care_team_id: team.id,
        therapist_id: therapist,
        proposed_by: client,
        proposed_at: at,
        reasons: vec!["Licensed in California".to_owned(), "Uses the Gottman Method \u{e9}".to_owned()],
        state: CareProposalState::Pending,
        answered_by: None,
        answered_at: None,
    };
    store.propose_care(&proposal).await.unwrap();
    (team, proposal)
}

async fn care_proposals_lifecycle(store: &dyn Store) {
    let (couple, first, second) = couple_and_therapists(store).await;
    let (riley, sam) = (couple.partner_a, couple.partner_b);
    let t0 = now() - Duration::days(1);
    assert_eq!(store.latest_care_proposal(couple.id).await.unwrap(), None);

    // Every field survives.
    let (_, p1) = propose(store, &couple, riley, first, t0).await;
    assert_eq!(store.latest_care_proposal(couple.id).await.unwrap(), Some(p1.clone()));

    // Sam proposes someone else meanwhile: Riley's proposal is withdrawn, Sam's is the latest.
    let (_, p2) = propose(store, &couple, sam, second, t0 + Duration::hours(1)).await;
    assert_eq!(store.latest_care_proposal(couple.id).await.unwrap(), Some(p2.clone()));
    // Riley's is closed: answering it now changes nothing.
    match store.answer_care_proposal(p1.id, CareProposalState::Accepted, sam, t0 + Duration::hours(2)).await {
        Err(StoreError::Conflict("care_proposal_closed")) => {}
        other => panic!("expected Conflict(\"care_proposal_closed\"), got {other:?}"),
    }
    assert_eq!(store.latest_care_proposal(couple.id).await.unwrap(), Some(p2.clone()));

    // Only one pending per couple, even written directly.
    let twin = CareProposal { id: Uuid::now_v7(), proposed_at: t0 + Duration::hours(3), ..p2.clone() };
    store.propose_care(&twin).await.unwrap();
    let latest = store.latest_care_proposal(couple.id).await.unwrap().unwrap();
    assert_eq!(latest.id, twin.id, "the newer one replaced the older");

    // Answered once: accepted, then neither accepted nor declined again.
    let at = t0 + Duration::hours(4);
    store.answer_care_proposal(twin.id, CareProposalState::Accepted, riley, at).await.unwrap();
    let accepted = store.latest_care_proposal(couple.id).await.unwrap().unwrap();
    assert_eq!(
        accepted,
        CareProposal {
            state: CareProposalState::Accepted,
            answered_by: Some(riley),
            answered_at: Some(at),
            ..twin.clone()
        }
    );
    for state in [CareProposalState::Accepted, CareProposalState::Declined] {
        match store.answer_care_proposal(twin.id, state, riley, at + Duration::minutes(1)).await {
            Err(StoreError::Conflict("care_proposal_closed")) => {}
            other => panic!("expected Conflict(\"care_proposal_closed\"), got {other:?}"),
        }
    }
    assert_eq!(store.latest_care_proposal(couple.id).await.unwrap(), Some(accepted.clone()));
    // Nothing pending now: withdrawing finds nothing, and the accepted one stays.
    assert!(!store.withdraw_care_proposal(couple.id, at).await.unwrap());
    assert_eq!(store.latest_care_proposal(couple.id).await.unwrap(), Some(accepted));

    // A declined proposal, and an explicit withdrawal.
    let (_, p3) = propose(store, &couple, riley, first, t0 + Duration::hours(5)).await;
    store.answer_care_proposal(p3.id, CareProposalState::Declined, sam, t0 + Duration::hours(6)).await.unwrap();
    let declined = store.latest_care_proposal(couple.id).await.unwrap().unwrap();
    assert_eq!((declined.state, declined.answered_by), (CareProposalState::Declined, Some(sam)));
    let (_, p4) = propose(store, &couple, riley, first, t0 + Duration::hours(7)).await;
    assert!(store.withdraw_care_proposal(couple.id, t0 + Duration::hours(8)).await.unwrap());
    let withdrawn = store.latest_care_proposal(couple.id).await.unwrap().unwrap();
    assert_eq!((withdrawn.id, withdrawn.state), (p4.id, CareProposalState::Withdrawn));
    assert_eq!(withdrawn.answered_at, Some(t0 + Duration::hours(8)));
    assert_eq!(withdrawn.answered_by, None);
}

async fn a_proposal_ends_with_its_care_team(store: &dyn Store) {
    let (couple, first, second) = couple_and_therapists(store).await;
    let riley = couple.partner_a;
    let t0 = now() - Duration::days(1);

    // Riley chooses someone else: the team the proposal was for ends, and so does the proposal.
    let (_, p1) = propose(store, &couple, riley, first, t0).await;
    let individual = care_team(riley, second, t0 + Duration::hours(1));
    store.start_care(&individual, None).await.unwrap();
    let latest = store.latest_care_proposal(couple.id).await.unwrap().unwrap();
    assert_eq!((latest.id, latest.state), (p1.id, CareProposalState::Withdrawn));
    assert_eq!(latest.answered_at, Some(t0 + Duration::hours(1)));

    // Ending care ends its pending proposal too.
    let (team, p2) = propose(store, &couple, riley, first, t0 + Duration::hours(2)).await;
    store.end_care(team.id, t0 + Duration::hours(3), "client finished therapy").await.unwrap();
    let latest = store.latest_care_proposal(couple.id).await.unwrap().unwrap();
    assert_eq!((latest.id, latest.state), (p2.id, CareProposalState::Withdrawn));

    // An accepted proposal is history: ending its team later leaves it accepted.
    let (team, p3) = propose(store, &couple, riley, first, t0 + Duration::hours(4)).await;
    store
        .answer_care_proposal(p3.id, CareProposalState::Accepted, couple.partner_b, t0 + Duration::hours(5))
        .await
        .unwrap();
    store.end_care(team.id, t0 + Duration::hours(6), "client finished therapy").await.unwrap();
    assert_eq!(store.latest_care_proposal(couple.id).await.unwrap().unwrap().state, CareProposalState::Accepted);
}

async fn a_room_can_be_repurposed(store: &dyn Store) {
    let (couple, therapist, _) = couple_and_therapists(store).await;
    let riley = couple.partner_a;
    let at = now() - Duration::hours(2);
    let room = Room {
        id: RoomId::new(),
        kind: RoomKind::Individual,
        key: format!("individual:{riley}"),
        couple_id: None,
        created_at: at,
    };
    store.ensure_room(&room).await.unwrap();
    for who in [riley, therapist] {
        store.add_room_member(room.id, who, at, None).await.unwrap();
    }

    // Riley's one-to-one room becomes their private channel in the couple's care.
    let private_key = format!("private:{}:{riley}", couple.id);
    store.repurpose_room(room.id, RoomKind::PrivateChannel, &private_key, Some(couple.id)).await.unwrap();
    let expected =
        Room { kind: RoomKind::PrivateChannel, key: private_key.clone(), couple_id: Some(couple.id), ..room.clone() };
    assert_eq!(store.room(room.id).await.unwrap(), expected);
    assert_eq!(store.room_by_key(&private_key).await.unwrap(), Some(expected.clone()));
    assert_eq!(store.room_by_key(&room.key).await.unwrap(), None);
    let mut members: Vec<AccountId> =
        store.room_members(room.id).await.unwrap().into_iter().map(|m| m.account_id).collect();
    members.sort();
    let mut wanted = vec![riley, therapist];
    wanted.sort();
    assert_eq!(members, wanted, "the members stay");

    // A key names one room; a room that does not exist is not found.
    let other = Room { id: RoomId::new(), key: room.key.clone(), ..room.clone() };
    store.ensure_room(&other).await.unwrap();
    match store.repurpose_room(other.id, RoomKind::PrivateChannel, &private_key, Some(couple.id)).await {
        Err(StoreError::Conflict("rooms_key")) => {}
        other => panic!("expected Conflict(\"rooms_key\"), got {other:?}"),
    }
    assert_eq!(store.room(other.id).await.unwrap(), other);
    assert!(matches!(
        store.repurpose_room(RoomId::new(), RoomKind::Individual, "individual:nobody", None).await,
        Err(StoreError::NotFound)
    ));
}

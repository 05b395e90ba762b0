//! Partner invitations, couple links through them, confidentiality consents, unlinking.

use super::*;
use rapport_domain::couple::ConfidentialityPolicy;
use rapport_domain::InvitationId;
use rapport_store::{Invitation, PolicyConsent};

conformance! {
    invitations_lifecycle => sqlite_invitations_lifecycle, postgres_invitations_lifecycle;
    accepting_an_invitation_links_the_couple => sqlite_accepting_an_invitation_links_the_couple,
        postgres_accepting_an_invitation_links_the_couple;
    accepting_is_all_or_nothing => sqlite_accepting_is_all_or_nothing, postgres_accepting_is_all_or_nothing;
    unlinking_a_couple => sqlite_unlinking_a_couple, postgres_unlinking_a_couple;
}

async fn invitations_lifecycle(store: &dyn Store) {
    let now = now();
    let alex = insert_person(store, "alex@example.org", Role::Client).await;
    let sam = insert_person(store, "sam@example.org", Role::Client).await;

    let mut first = invitation(alex, "blake@example.org", now - Duration::hours(2));
    first.proposed_policy = Some(ConfidentialityPolicy::LimitedSecrets);
    let second = invitation(alex, "casey@example.org", now - Duration::hours(1));
    let sams = invitation(sam, "drew@example.org", now);
    for i in [&first, &second, &sams] {
        store.insert_invitation(i).await.unwrap();
    }

    // Every field survives, by id and by token hash.
    assert_eq!(store.invitation(first.id).await.unwrap(), first);
    assert_eq!(store.invitation_by_token_hash(&first.token_hash).await.unwrap(), first);
    assert_eq!(store.invitation_by_token_hash(&second.token_hash).await.unwrap(), second);
    assert!(matches!(store.invitation(InvitationId::new()).await, Err(StoreError::NotFound)));
    assert!(matches!(store.invitation_by_token_hash(&[7_u8; 32]).await, Err(StoreError::NotFound)));

    // A token names one invitation.
    let mut copy = invitation(sam, "eve@example.org", now);
    copy.token_hash = first.token_hash.clone();
    match store.insert_invitation(&copy).await {
        Err(StoreError::Conflict("couple_invitations_token_hash")) => {}
        other => panic!("expected Conflict(\"couple_invitations_token_hash\"), got {other:?}"),
    }

    // Newest first, only the inviter's own.
    let sent: Vec<_> = store.invitations_from(alex).await.unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(sent, vec![second.id, first.id]);
    assert_eq!(store.invitations_from(sam).await.unwrap(), vec![sams.clone()]);

    // Only the inviter can revoke, and only while it is open.
    let at = now + Duration::minutes(1);
    assert!(matches!(store.revoke_invitation(sam, first.id, at).await, Err(StoreError::NotFound)));
    assert_eq!(store.invitation(first.id).await.unwrap().revoked_at, None);
    store.revoke_invitation(alex, first.id, at).await.unwrap();
    assert_eq!(store.invitation(first.id).await.unwrap(), Invitation { revoked_at: Some(at), ..first.clone() });
    assert!(matches!(store.revoke_invitation(alex, first.id, at).await, Err(StoreError::NotFound)));
    assert!(matches!(store.revoke_invitation(alex, InvitationId::new(), at).await, Err(StoreError::NotFound)));

    // A revoked invitation cannot be accepted, and nothing is linked.
    let blake = insert_person(store, "blake@example.org", Role::Client).await;
    let couple = Couple { id: CoupleId::new(), partner_a: alex, partner_b: blake, linked_at: at };
    let consent = consent(couple.id, blake, ConfidentialityPolicy::LimitedSecrets, at);
    match store.accept_invitation(first.id, &couple, &consent).await {
        Err(StoreError::Conflict("invitation_closed")) => {}
        other => panic!("expected Conflict(\"invitation_closed\"), got {other:?}"),
    }
    assert!(store.couple_of(alex).await.unwrap().is_none());
    assert!(store.policy_consents(couple.id).await.unwrap().is_empty());
}

async fn accepting_an_invitation_links_the_couple(db: &TestDatabase) {
    let store = db.store();
    let now = now();
    let alex = insert_person(store, "alex@example.org", Role::Client).await;
    let blake = insert_person(store, "blake@example.org", Role::Client).await;
    let mut sent = invitation(alex, "blake@example.org", now - Duration::hours(1));
    sent.proposed_policy = Some(ConfidentialityPolicy::NoSecrets);
    store.insert_invitation(&sent).await.unwrap();

    // Ids made in the opposite order, so positions must come from the couple.
    let couple = Couple { id: CoupleId::new(), partner_a: alex, partner_b: blake, linked_at: now };
    let agreed = consent(couple.id, blake, ConfidentialityPolicy::NoSecrets, now);
    store.accept_invitation(sent.id, &couple, &agreed).await.unwrap();

    let read = store.invitation(sent.id).await.unwrap();
    assert_eq!(read, Invitation { accepted_at: Some(now), accepted_by: Some(blake), ..sent.clone() });
    for partner in [alex, blake] {
        assert_same_couple(&store.couple_of(partner).await.unwrap().unwrap(), &couple);
    }
    assert_same_couple(&store.couple(couple.id).await.unwrap(), &couple);
    assert_eq!(store.policy_consents(couple.id).await.unwrap(), vec![agreed.clone()]);

    // Accepting twice is refused and changes nothing.
    let again = Couple { id: CoupleId::new(), ..couple.clone() };
    match store.accept_invitation(sent.id, &again, &consent(again.id, blake, agreed.policy, now)).await {
        Err(StoreError::Conflict("invitation_closed")) => {}
        other => panic!("expected Conflict(\"invitation_closed\"), got {other:?}"),
    }
    assert!(matches!(store.couple(again.id).await, Err(StoreError::NotFound)));
    assert_eq!(db.count_rows("couples").await, 1);
    assert_eq!(db.count_rows("couple_policy_consents").await, 1);

    // The inviter agrees later; the history keeps both, oldest first.
    let inviter = consent(couple.id, alex, ConfidentialityPolicy::NoSecrets, now + Duration::minutes(5));
    let changed = consent(couple.id, blake, ConfidentialityPolicy::LimitedSecrets, now + Duration::minutes(9));
    store.insert_policy_consent(&changed).await.unwrap();
    store.insert_policy_consent(&inviter).await.unwrap();
    assert_eq!(store.policy_consents(couple.id).await.unwrap(), vec![agreed, inviter, changed]);
    assert!(matches!(store.couple(CoupleId::new()).await, Err(StoreError::NotFound)));
}

async fn accepting_is_all_or_nothing(db: &TestDatabase) {
    let store = db.store();
    let now = now();
    let [alex, blake, casey, drew] = [
        insert_person(store, "alex@example.org", Role::Client).await,
        insert_person(store, "blake@example.org", Role::Client).await,
        insert_person(store, "casey@example.org", Role::Client).await,
        insert_person(store, "drew@example.org", Role::Client).await,
    ];
    let linked = Couple { id: CoupleId::new(), partner_a: alex, partner_b: blake, linked_at: now };
    store.insert_couple(&linked).await.unwrap();

    // Casey invites Blake, already in a couple; and Alex (already linked) invites Drew.
    for (inviter, acceptor) in [(casey, blake), (alex, drew)] {
        let sent = invitation(inviter, "someone@example.org", now);
        store.insert_invitation(&sent).await.unwrap();
        let couple = Couple {
            id: CoupleId::new(),
            partner_a: inviter,
            partner_b: acceptor,
            linked_at: now + Duration::minutes(1),
        };
        let agreed = consent(couple.id, acceptor, ConfidentialityPolicy::NoSecrets, couple.linked_at);
        match store.accept_invitation(sent.id, &couple, &agreed).await {
            Err(StoreError::Conflict("couples_partner")) => {}
            other => panic!("expected Conflict(\"couples_partner\"), got {other:?}"),
        }
        // Rolled back: the invitation is still open, and no couple or consent is left.
        let read = store.invitation(sent.id).await.unwrap();
        assert_eq!((read.accepted_at, read.accepted_by), (None, None));
        assert!(matches!(store.couple(couple.id).await, Err(StoreError::NotFound)));
        assert!(store.policy_consents(couple.id).await.unwrap().is_empty());
    }
    assert_eq!(db.count_rows("couples").await, 1);
    assert_eq!(db.count_rows("couple_members").await, 2);
    assert_eq!(db.count_rows("couple_policy_consents").await, 0);
    assert!(store.couple_of(casey).await.unwrap().is_none());
    assert!(store.couple_of(drew).await.unwrap().is_none());
}

async fn unlinking_a_couple(store: &dyn Store) {
    let now = now();
    let [alex, blake, casey] = [
        insert_person(store, "alex@example.org", Role::Client).await,
        insert_person(store, "blake@example.org", Role::Client).await,
        insert_person(store, "casey@example.org", Role::Client).await,
    ];
    let couple = Couple { id: CoupleId::new(), partner_a: blake, partner_b: alex, linked_at: now };
    store.insert_couple(&couple).await.unwrap();

    // Only a current member can unlink.
    let at = now + Duration::days(3);
    assert!(matches!(store.unlink_couple(couple.id, casey, at).await, Err(StoreError::NotFound)));
    assert!(matches!(store.unlink_couple(CoupleId::new(), alex, at).await, Err(StoreError::NotFound)));
    assert!(store.couple_of(alex).await.unwrap().is_some());

    store.unlink_couple(couple.id, alex, at).await.unwrap();
    assert!(store.couple_of(alex).await.unwrap().is_none());
    assert!(store.couple_of(blake).await.unwrap().is_none());
    // The record stays, partners in their places.
    assert_same_couple(&store.couple(couple.id).await.unwrap(), &couple);
    // Neither is a member any more, so neither can unlink again.
    assert!(matches!(store.unlink_couple(couple.id, blake, at).await, Err(StoreError::NotFound)));

    // Both are free to link again, with each other or someone else.
    let next = Couple { id: CoupleId::new(), partner_a: alex, partner_b: casey, linked_at: at };
    store.insert_couple(&next).await.unwrap();
    assert_same_couple(&store.couple_of(casey).await.unwrap().unwrap(), &next);
    assert!(store.couple_of(blake).await.unwrap().is_none());
    assert_same_couple(&store.couple(couple.id).await.unwrap(), &couple);
}

fn invitation(inviter_id: AccountId, email: &str, created_at: DateTime<Utc>) -> Invitation {
    let mut token_hash = Uuid::now_v7().as_bytes().to_vec();
    token_hash.extend_from_slice(Uuid::now_v7().as_bytes());
    Invitation {
        id: InvitationId::new(),
        inviter_id,
        email: Email::parse(email).unwrap(),
        token_hash,
        created_at,
        expires_at: created_at + Duration::hours(72),
        accepted_at: None,
        accepted_by: None,
        revoked_at: None,
        proposed_policy: None,
    }
}

fn consent(
    couple_id: CoupleId,
    account_id: AccountId,
    policy: ConfidentialityPolicy,
    at: DateTime<Utc>,
) -> PolicyConsent {
    PolicyConsent { couple_id, account_id, policy, at }
}

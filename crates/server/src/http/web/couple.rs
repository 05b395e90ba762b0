//! Linking with a partner: inviting, accepting an invitation, the
//! confidentiality agreement both partners consent to, and unlinking.

use super::{app_error_page, error_page_for, not_found_page_for, render, Chrome};
use crate::http::auth::{ClientContext, ClientUser, MaybeWebUser, WebUser};
use crate::http::csrf::CsrfForm;
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rapport_app::{AppError, InvitationPreview, InvitationState};
use rapport_domain::couple::ConfidentialityPolicy;
use rapport_domain::{InvitationId, TimeZone};
use rapport_store::CareProposalState;
use serde::Deserialize;
use std::borrow::Cow;

/// One of the two agreements, as a radio button.
pub struct PolicyChoice {
    pub value: &'static str,
    pub title: &'static str,
    pub explain: &'static str,
    pub checked: bool,
}

fn choices(selected: Option<ConfidentialityPolicy>) -> Vec<PolicyChoice> {
    ConfidentialityPolicy::ALL
        .into_iter()
        .map(|p| PolicyChoice {
            value: p.as_str(),
            title: p.title(),
            explain: p.explain(),
            checked: selected == Some(p),
        })
        .collect()
}

/// An agreement in words.
pub struct PolicyText {
    pub title: &'static str,
    pub explain: &'static str,
}

impl From<ConfidentialityPolicy> for PolicyText {
    fn from(p: ConfidentialityPolicy) -> Self {
        Self { title: p.title(), explain: p.explain() }
    }
}

/// A change one partner asked for.
pub struct Proposal {
    pub by_me: bool,
    pub policy: PolicyText,
}

/// One consent in the history.
pub struct HistoryRow {
    pub who: String,
    pub title: &'static str,
    pub at: String,
}

/// A therapist one partner proposed for the two of them, as a card.
pub struct ProposalCard {
    pub therapist_id: String,
    pub name: String,
    pub initials: String,
    pub has_photo: bool,
    pub licences: Vec<String>,
    pub approaches: Vec<String>,
    pub reasons: Vec<String>,
    pub by_me: bool,
    pub proposed_at: String,
    /// `pending`, `accepted` or `declined`.
    pub state: &'static str,
}

/// Up to two initials, for a therapist without a photo.
fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter(|w| w.chars().next().is_some_and(char::is_alphabetic) && !w.ends_with('.'))
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// The caller's couple.
pub struct Linked {
    pub partner_name: String,
    pub linked_at: String,
    pub agreed: Option<PolicyText>,
    pub policy_proposal: Option<Proposal>,
    pub my_consent: Option<PolicyText>,
    pub history: Vec<HistoryRow>,
    pub proposal: Option<ProposalCard>,
}

/// An invitation the caller sent.
pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub sent: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub detail: String,
    pub can_withdraw: bool,
    pub can_resend: bool,
}

#[derive(Template)]
#[template(path = "couple.html")]
struct CouplePage {
    chrome: Chrome,
    linked: Option<Linked>,
    invitations: Vec<InvitationRow>,
    /// The invite form: the email typed, the agreement suggested ("" for none).
    email: String,
    suggested: &'static str,
    invite_choices: Vec<PolicyChoice>,
    invite_error: Option<Cow<'static, str>>,
    list_error: Option<Cow<'static, str>>,
    consent_choices: Vec<PolicyChoice>,
    consent_error: Option<Cow<'static, str>>,
    proposal_error: Option<Cow<'static, str>>,
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

fn notice(done: &Done) -> Option<&'static str> {
    match done.done.as_deref() {
        Some("invited") => Some("Your invitation is on its way. The link in the email works for 72 hours."),
        Some("withdrawn") => Some("That invitation is withdrawn. Its link no longer works."),
        Some("resent") => Some("A new link is on its way. The earlier link no longer works."),
        Some("linked") => Some("You're linked. Welcome, both of you."),
        Some("consented") => Some("Your choice is saved."),
        Some("unlinked") => Some("You're no longer linked. Your own account stays as it is."),
        Some("proposed") => Some(
            "We've asked your partner. Until they agree, you work with this therapist on your own, and nothing of theirs is shared.",
        ),
        Some("care-accepted") => {
            Some("You've agreed. Your shared room and your private channel are on your Messages page.")
        }
        Some("care-declined") => Some("You've declined. Your partner keeps working with that therapist on their own."),
        _ => None,
    }
}

fn state_words(state: InvitationState, expires: &str) -> (&'static str, &'static str, String) {
    match state {
        InvitationState::Open => ("Open", "state-open", format!("The link works until {expires}.")),
        InvitationState::Expired => ("Expired", "state-closed", format!("The link stopped working on {expires}.")),
        InvitationState::Used => ("Used", "state-used", "Your partner accepted this invitation.".to_owned()),
        InvitationState::Revoked => ("Withdrawn", "state-closed", "You withdrew this invitation.".to_owned()),
    }
}

impl CouplePage {
    async fn load(state: &AppState, user: &WebUser, done: &Done) -> Result<Self, AppError> {
        let tz = user.account.time_zone;
        let me = user.account.id;
        let couple = state.app.my_couple(&user.auth).await?;
        let linked = couple.map(|c| {
            let partner_name = c.partner_name.clone();
            let proposal = c.care_proposal.map(|p| ProposalCard {
                therapist_id: p.therapist_id.to_string(),
                initials: initials(&p.professional_name),
                name: p.professional_name,
                has_photo: p.has_photo,
                licences: p.licences,
                approaches: p.approaches,
                reasons: p.reasons,
                by_me: p.by_me,
                proposed_at: tz.format(p.proposed_at),
                state: match p.state {
                    CareProposalState::Pending => "pending",
                    CareProposalState::Accepted => "accepted",
                    CareProposalState::Declined | CareProposalState::Withdrawn => "declined",
                },
            });
            Linked {
                linked_at: tz.format(c.linked_at),
                agreed: c.policy.agreed.map(Into::into),
                policy_proposal: c.policy.proposed.map(|(who, p)| Proposal { by_me: who == me, policy: p.into() }),
                proposal,
                my_consent: c.my_consent.map(Into::into),
                history: c
                    .history
                    .iter()
                    .map(|h| HistoryRow {
                        who: if h.account_id == me { "You".to_owned() } else { partner_name.clone() },
                        title: h.policy.title(),
                        at: tz.format(h.at),
                    })
                    .collect(),
                partner_name,
            }
        });
        let invitations = if linked.is_some() {
            Vec::new()
        } else {
            state
                .app
                .my_invitations(&user.auth)
                .await?
                .into_iter()
                .map(|(inv, st)| {
                    let (state, state_class, detail) = state_words(st, &tz.format(inv.expires_at));
                    InvitationRow {
                        id: inv.id.to_string(),
                        email: inv.email.to_string(),
                        sent: tz.format(inv.created_at),
                        state,
                        state_class,
                        detail,
                        can_withdraw: st == InvitationState::Open,
                        can_resend: st != InvitationState::Used,
                    }
                })
                .collect()
        };
        let mut chrome = Chrome::signed_in("Your partner", user);
        chrome.notice = notice(done);
        Ok(Self {
            chrome,
            linked,
            invitations,
            email: String::new(),
            suggested: "",
            invite_choices: choices(None),
            invite_error: None,
            list_error: None,
            // Nothing is chosen for anyone: each person picks an agreement themselves.
            consent_choices: choices(None),
            consent_error: None,
            proposal_error: None,
        })
    }
}

/// `GET /couple`.
pub async fn page(
    State(state): State<AppState>,
    ClientUser(user): ClientUser,
    done: Result<axum::extract::Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let done = done.map(|q| q.0).unwrap_or_default();
    match CouplePage::load(&state, &user, &done).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(e) => app_error_page(e),
    }
}

/// Reads an agreement from a form: `None` for "decide later", `Err` for anything unknown.
fn policy_field(value: &str) -> Result<Option<ConfidentialityPolicy>, ()> {
    match value.trim() {
        "" => Ok(None),
        v => v.parse().map(Some).map_err(|_| ()),
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    policy: String,
}

/// `POST /couple/invitations`.
pub async fn invite(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ClientUser(user): ClientUser,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Response {
    let (status, error): (StatusCode, Cow<'static, str>) = match policy_field(&form.policy) {
        Err(()) => (StatusCode::UNPROCESSABLE_ENTITY, "Please choose one of the agreements, or decide later.".into()),
        Ok(policy) => match state.app.invite_partner(&user.auth, &form.email, policy, &ctx).await {
            Ok(_) => return Redirect::to("/couple?done=invited").into_response(),
            Err(AppError::Invalid(errors)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                errors
                    .iter()
                    .flat_map(|(_, m)| m.iter())
                    .next()
                    .cloned()
                    .unwrap_or_else(|| "Please check the email address.".to_owned())
                    .into(),
            ),
            Err(AppError::Conflict { message, .. }) => (StatusCode::CONFLICT, message.into()),
            Err(e) => return app_error_page(e),
        },
    };
    match CouplePage::load(&state, &user, &Done::default()).await {
        Ok(mut page) => {
            let suggested = policy_field(&form.policy).ok().flatten();
            page.suggested = suggested.map_or("", ConfidentialityPolicy::as_str);
            page.invite_choices = choices(suggested);
            page.email = form.email;
            page.invite_error = Some(error);
            render(status, &page)
        }
        Err(e) => app_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct EmptyForm {}

async fn with_list_error(state: &AppState, user: &WebUser, status: StatusCode, error: &'static str) -> Response {
    match CouplePage::load(state, user, &Done::default()).await {
        Ok(mut page) => {
            page.list_error = Some(error.into());
            render(status, &page)
        }
        Err(e) => app_error_page(e),
    }
}

/// `POST /couple/sent-invitations/{id}/withdraw`.
pub async fn withdraw(
    State(state): State<AppState>,
    ClientUser(user): ClientUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    let Ok(id) = id.parse::<InvitationId>() else { return not_found_page_for(Some(&user)) };
    match state.app.revoke_invitation(&user.auth, id).await {
        Ok(()) => Redirect::to("/couple?done=withdrawn").into_response(),
        Err(AppError::NotFound) => {
            with_list_error(
                &state,
                &user,
                StatusCode::CONFLICT,
                "That invitation was no longer open, so there was nothing to withdraw.",
            )
            .await
        }
        Err(e) => app_error_page(e),
    }
}

/// `POST /couple/sent-invitations/{id}/resend`.
pub async fn resend(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ClientUser(user): ClientUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    let Ok(id) = id.parse::<InvitationId>() else { return not_found_page_for(Some(&user)) };
    match state.app.resend_invitation(&user.auth, id, &ctx).await {
        Ok(_) => Redirect::to("/couple?done=resent").into_response(),
        Err(AppError::Gone(message)) => with_list_error(&state, &user, StatusCode::GONE, message).await,
        Err(AppError::Conflict { message, .. }) => with_list_error(&state, &user, StatusCode::CONFLICT, message).await,
        Err(AppError::NotFound) => not_found_page_for(Some(&user)),
        Err(e) => app_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    policy: String,
}

/// `POST /couple/policy`: consent to (or propose) an agreement.
pub async fn consent(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ClientUser(user): ClientUser,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> Response {
    let error = match policy_field(&form.policy) {
        Ok(Some(policy)) => match state.app.consent_to_policy(&user.auth, policy, &ctx).await {
            Ok(_) => return Redirect::to("/couple?done=consented").into_response(),
            Err(AppError::NotFound) => return Redirect::to("/couple").into_response(),
            Err(e) => return app_error_page(e),
        },
        _ => "Please choose one of the two agreements.",
    };
    match CouplePage::load(&state, &user, &Done::default()).await {
        Ok(mut page) => {
            page.consent_error = Some(error.into());
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => app_error_page(e),
    }
}

/// `POST /couple/care-proposal/accept` and `/decline`: the other partner's answer.
async fn answer_proposal(
    state: &AppState,
    ctx: &rapport_app::RequestContext,
    user: &WebUser,
    accept: bool,
) -> Response {
    let answered = if accept {
        state.app.accept_care_proposal(&user.auth, ctx).await
    } else {
        state.app.decline_care_proposal(&user.auth, ctx).await
    };
    let (status, error): (StatusCode, &'static str) = match answered {
        Ok(_) if accept => return Redirect::to("/couple?done=care-accepted").into_response(),
        Ok(_) => return Redirect::to("/couple?done=care-declined").into_response(),
        Err(AppError::NotFound) => return Redirect::to("/couple").into_response(),
        Err(AppError::Forbidden) => {
            (StatusCode::FORBIDDEN, "You suggested this therapist, so it's your partner's answer we're waiting for.")
        }
        Err(AppError::Conflict { .. }) => (
            StatusCode::CONFLICT,
            "There's nothing waiting for your answer any more: it was answered or withdrawn already.",
        ),
        Err(e) => return app_error_page(e),
    };
    match CouplePage::load(state, user, &Done::default()).await {
        Ok(mut page) => {
            page.proposal_error = Some(error.into());
            render(status, &page)
        }
        Err(e) => app_error_page(e),
    }
}

/// `POST /couple/care-proposal/accept`.
pub async fn accept_proposal(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ClientUser(user): ClientUser,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    answer_proposal(&state, &ctx, &user, true).await
}

/// `POST /couple/care-proposal/decline`.
pub async fn decline_proposal(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ClientUser(user): ClientUser,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    answer_proposal(&state, &ctx, &user, false).await
}

#[derive(Template)]
#[template(path = "couple_unlink.html")]
struct UnlinkPage {
    chrome: Chrome,
    partner_name: String,
}

/// `GET /couple/unlink`: what unlinking does, and the button to do it.
pub async fn unlink_page(State(state): State<AppState>, ClientUser(user): ClientUser) -> Response {
    match state.app.my_couple(&user.auth).await {
        Ok(Some(c)) => {
            let chrome = Chrome::signed_in(&format!("Unlink from {}?", c.partner_name), &user);
            render(StatusCode::OK, &UnlinkPage { chrome, partner_name: c.partner_name })
        }
        Ok(None) => Redirect::to("/couple").into_response(),
        Err(e) => app_error_page(e),
    }
}

/// `POST /couple/unlink`.
pub async fn unlink(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ClientUser(user): ClientUser,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    match state.app.unlink_partner(&user.auth, &ctx).await {
        Ok(()) => Redirect::to("/couple?done=unlinked").into_response(),
        Err(AppError::NotFound) => Redirect::to("/couple").into_response(),
        Err(e) => app_error_page(e),
    }
}

// ---- the invited person ----------------------------------------------------

#[derive(Template)]
#[template(path = "couple_invitation.html")]
struct InvitationPage {
    chrome: Chrome,
    token: String,
    inviter_name: String,
    expires: String,
    suggested: Option<PolicyText>,
    choices: Vec<PolicyChoice>,
    error: Option<Cow<'static, str>>,
}

/// Percent-encodes a path for a `next=` query value.
fn encode_query_value(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Why a link can't be used any more, in words for the invited person.
fn closed_words(state: InvitationState, inviter: &str) -> String {
    match state {
        InvitationState::Expired => format!(
            "Invitation links work for 72 hours, and this one has expired. If you'd still like to link, ask {inviter} to send you a new one from their Partner page."
        ),
        InvitationState::Used => "This invitation has already been accepted. If you're linked, you'll find your partner on your Partner page.".to_owned(),
        InvitationState::Revoked => format!(
            "{inviter} withdrew this invitation, so its link no longer works. If you'd still like to link, ask them to send a new one."
        ),
        InvitationState::Open => "This invitation can't be used.".to_owned(),
    }
}

/// The preview of an invitation for the signed-in person, or the page to show instead.
async fn preview_or_page(state: &AppState, user: &WebUser, token: &str) -> Result<InvitationPreview, Response> {
    match state.app.invitation_preview(&user.auth, token).await {
        Ok(p) if !p.for_you => Err(error_page_for(
            Some(user),
            StatusCode::FORBIDDEN,
            "This invitation is for someone else",
            "It was sent to a different email address. If it's meant for you, sign out, then sign in with the account for the address the invitation went to.",
        )),
        Ok(p) if p.state != InvitationState::Open => Err(error_page_for(
            Some(user),
            StatusCode::GONE,
            "This invitation can't be used any more",
            &closed_words(p.state, &p.inviter_name),
        )),
        Ok(p) => Ok(p),
        Err(AppError::Forbidden) => Err(error_page_for(
            Some(user),
            StatusCode::FORBIDDEN,
            "Invitations link personal accounts",
            "Partner invitations link two personal (client) accounts. Please sign out, then sign in with your personal account to accept it.",
        )),
        Err(AppError::NotFound) => Err(error_page_for(
            Some(user),
            StatusCode::NOT_FOUND,
            "We couldn't find that invitation",
            "The link may be incomplete. Please check that you opened the whole link from the email, or ask your partner to send a new one.",
        )),
        Err(e) => Err(app_error_page(e)),
    }
}

fn invitation_page(user: &WebUser, token: &str, p: &InvitationPreview, tz: TimeZone) -> InvitationPage {
    InvitationPage {
        chrome: Chrome::signed_in("Your partner's invitation", user),
        token: token.to_owned(),
        inviter_name: p.inviter_name.clone(),
        expires: tz.format(p.expires_at),
        suggested: p.proposed_policy.map(Into::into),
        // The inviter's suggestion is described in words, never chosen for the invited person.
        choices: choices(None),
        error: None,
    }
}

/// `GET /couple/invitations/{token}`: the link from the email.
pub async fn invitation(
    State(state): State<AppState>,
    MaybeWebUser(user): MaybeWebUser,
    Path(token): Path<String>,
) -> Response {
    let Some(user) = user else {
        // Sign in (or create an account) first, then come back here.
        let next = encode_query_value(&format!("/couple/invitations/{token}"));
        return Redirect::to(&format!("/sign-in?next={next}&invited=1")).into_response();
    };
    match preview_or_page(&state, &user, &token).await {
        Ok(p) => render(StatusCode::OK, &invitation_page(&user, &token, &p, user.account.time_zone)),
        Err(page) => page,
    }
}

/// `POST /couple/invitations/{token}/accept`.
pub async fn accept(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> Response {
    let chosen = policy_field(&form.policy).ok().flatten();
    let error: Cow<'static, str> = match chosen {
        None => "Please choose one of the two agreements.".into(),
        Some(policy) => match state.app.accept_invitation(&user.auth, &token, policy, &ctx).await {
            Ok(_) => return Redirect::to("/couple?done=linked").into_response(),
            Err(AppError::Conflict { message, .. }) => message.into(),
            Err(AppError::Invalid(errors)) => errors
                .iter()
                .flat_map(|(_, m)| m.iter())
                .next()
                .cloned()
                .unwrap_or_else(|| "This invitation can't be accepted.".to_owned())
                .into(),
            Err(AppError::Gone(_)) | Err(AppError::NotFound) | Err(AppError::Forbidden) => {
                // Show the same page the link now shows.
                return match preview_or_page(&state, &user, &token).await {
                    Err(page) => page,
                    Ok(_) => not_found_page_for(Some(&user)),
                };
            }
            Err(e) => return app_error_page(e),
        },
    };
    match preview_or_page(&state, &user, &token).await {
        Ok(p) => {
            let mut page = invitation_page(&user, &token, &p, user.account.time_zone);
            if chosen.is_some() {
                page.choices = choices(chosen);
            }
            page.error = Some(error);
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(page) => page,
    }
}

#[cfg(test)]
mod tests {
    use super::encode_query_value;

    #[test]
    fn initials_skip_titles() {
        assert_eq!(super::initials("Dr. Amara Okafor (demo)"), "AO");
        assert_eq!(super::initials("Jordan Lee, LMFT"), "JL");
        assert_eq!(super::initials("Sam"), "S");
    }

    #[test]
    fn next_paths_are_encoded_for_a_query() {
        assert_eq!(encode_query_value("/couple/invitations/a-b_c"), "/couple/invitations/a-b_c");
        assert_eq!(encode_query_value("/x?y=1&z"), "/x%3Fy%3D1%26z");
    }
}

//! The seats page and the page an invitation link opens.

mod invite;

pub use invite::InvitePage;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::format::date;
use crate::components::layout::{ErrorNotice, Portal};
use crate::components::outcome::form_action;
use crate::entitlements::api::{AssignSeat, FreeSeat};
use crate::error::AppError;
use crate::seats::api::{get_seats, InviteUser, IssuePasswordReset, ReissueInvitation, RemoveUser, RESET_HOURS};
use crate::seats::{Invitation, Member, SeatsView};

/// `/entitlements/:id/seats`: who holds a seat of an entitlement, and the organisation's
/// users; assign, free, invite, remove. For customer admins (and vendor staff).
#[component]
pub fn SeatsPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let assign = form_action::<AssignSeat>();
    let free = form_action::<FreeSeat>();
    let remove = form_action::<RemoveUser>();
    let invite = form_action::<InviteUser>();
    let reissue = form_action::<ReissueInvitation>();
    let reset = form_action::<IssuePasswordReset>();
    let seats = Resource::new(
        move || {
            (id(), assign.version().get(), free.version().get(), remove.version().get(), invite.version().get(), reissue.version().get())
        },
        |(id, ..)| get_seats(id),
    );
    // The last failed action's error, shown above the table.
    let action_error = move || {
        [
            assign.value().get(),
            free.value().get(),
            remove.value().get(),
            reissue.value().get().map(|r| r.map(|_| ())),
            reset.value().get().map(|r| r.map(|_| ())),
        ]
        .into_iter()
        .flatten()
        .find_map(Result::err)
    };
    view! {
        <Title text="Seats"/>
        <Portal>
            <p><a href="/entitlements">"← Entitlements"</a></p>
            <Transition fallback=|| view! { <p class="loading">"Loading seats…"</p> }>
                {move || Suspend::new(async move {
                    match seats.await {
                        Ok(view) => view! {
                            <SeatsTable view assign free remove reissue reset/>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
            <p class="form-error" role="alert">{move || action_error().map(|e| e.to_string())}</p>
            <InviteForm entitlement=Signal::derive(id) invite/>
            <ReissuedLink reissue/>
            <ResetLink reset/>
        </Portal>
    }
}

#[component]
fn SeatsTable(
    view: SeatsView,
    assign: ServerAction<AssignSeat>,
    free: ServerAction<FreeSeat>,
    remove: ServerAction<RemoveUser>,
    reissue: ServerAction<ReissueInvitation>,
    reset: ServerAction<IssuePasswordReset>,
) -> impl IntoView {
    let at_cap = view.at_cap();
    let id = view.entitlement_id;
    let me = view.me;
    let rows = view
        .members
        .iter()
        .cloned()
        .map(|m| view! { <MemberRow m entitlement=id me at_cap assign free remove reissue reset/> })
        .collect_view();
    view! {
        <h1>"Seats — " {view.product.clone()} " (" {view.plan.clone()} ")"</h1>
        <p class="seat-count" class:full=at_cap>{format!("{} of {} seats used", view.seats_used, view.seats_cap)}</p>
        {(view.held_back() > 0).then(|| {
            let n = view.held_back();
            view! {
                <div class="notice warn held-back" role="status">
                    <strong>{if n == 1 { "1 seat is held back. ".to_owned() } else { format!("{n} seats are held back. ") }}</strong>
                    {format!(
                        "The plan now allows {} seats and {} people hold one. Until you choose, the seats assigned last are the ones held back: \
                         those people cannot use the product. Free the seats of the people who should not keep one.",
                        view.seats_cap, view.seats_used
                    )}
                </div>
            }
        })}
        {(at_cap && view.held_back() == 0).then(|| view! {
            <p class="notice warn">
                {format!("All {} seats are in use. ", view.seats_cap)}
                <a href=format!("/requests/new?entitlement={id}&kind=seats")>"Request more seats"</a>
            </p>
        })}
        <table class="table seats">
            <caption class="visually-hidden">"Users of " {view.customer.clone()} " and their seats"</caption>
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Seat"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
#[allow(clippy::too_many_arguments)]
fn MemberRow(
    m: Member,
    entitlement: i64,
    me: i64,
    at_cap: bool,
    assign: ServerAction<AssignSeat>,
    free: ServerAction<FreeSeat>,
    remove: ServerAction<RemoveUser>,
    reissue: ServerAction<ReissueInvitation>,
    reset: ServerAction<IssuePasswordReset>,
) -> impl IntoView {
    let seat = match m.seat_since {
        Some(d) if m.held_back => format!("Held back (assigned {})", date(d)),
        Some(d) => format!("Since {}", date(d)),
        None => "No seat".to_owned(),
    };
    let invited = m.invited.then(|| match m.invitation_expires_on {
        Some(d) => format!("Invited — link expires {}", date(d)),
        None => "Invited — link expired".to_owned(),
    });
    let email = m.email.clone();
    let seat_button = if m.seat_since.is_some() {
        let label = format!("Free the seat of {}", m.name);
        view! {
            <ActionForm action=free attr:class="inline">
                <input type="hidden" name="entitlement" value=entitlement/>
                <input type="hidden" name="email" value=email/>
                <button type="submit" class="button secondary small" aria-label=label>"Free seat"</button>
            </ActionForm>
        }
        .into_any()
    } else {
        let label = format!("Assign a seat to {}", m.name);
        let title = at_cap.then_some("Every seat is taken");
        view! {
            <ActionForm action=assign attr:class="inline">
                <input type="hidden" name="entitlement" value=entitlement/>
                <input type="hidden" name="email" value=email/>
                <button type="submit" class="button secondary small" aria-label=label title=title>"Assign seat"</button>
            </ActionForm>
        }
        .into_any()
    };
    let reissue_button = m.invited.then(|| {
        let label = format!("New invitation link for {}", m.name);
        view! {
            <ActionForm action=reissue attr:class="inline">
                <input type="hidden" name="entitlement" value=entitlement/>
                <input type="hidden" name="user" value=m.id/>
                <button type="submit" class="button secondary small" aria-label=label>"New link"</button>
            </ActionForm>
        }
    });
    let reset_button = (!m.invited && m.id != me).then(|| {
        let label = format!("Password reset link for {}", m.name);
        view! {
            <ActionForm action=reset attr:class="inline">
                <input type="hidden" name="entitlement" value=entitlement/>
                <input type="hidden" name="user" value=m.id/>
                <button type="submit" class="button secondary small" aria-label=label>"Reset link"</button>
            </ActionForm>
        }
    });
    let remove_button = (m.id != me).then(|| {
        let label = format!("Remove {} from the organisation", m.name);
        view! {
            <ActionForm action=remove attr:class="inline">
                <input type="hidden" name="entitlement" value=entitlement/>
                <input type="hidden" name="user" value=m.id/>
                <button type="submit" class="button danger small" aria-label=label>"Remove"</button>
            </ActionForm>
        }
    });
    view! {
        <tr>
            <td>{m.name.clone()} {invited.map(|i| view! { <span class="badge invited">{i}</span> })}</td>
            <td>{m.email.clone()}</td>
            <td>{m.role.label()}</td>
            <td class:muted=m.seat_since.is_none() class:held-back=m.held_back>{seat}</td>
            <td class="actions">{seat_button} {reissue_button} {reset_button} {remove_button}</td>
        </tr>
    }
}

/// "Add a user": creates the user and an invitation link to copy and send.
#[component]
fn InviteForm(entitlement: Signal<i64>, invite: ServerAction<InviteUser>) -> impl IntoView {
    let error = move || invite.value().get().and_then(Result::err);
    let field_error = move |field: &'static str| move || error().and_then(|e| e.for_field(field));
    let form_error = move || error().filter(|e| !matches!(e, AppError::Invalid { .. })).map(|e| e.to_string());
    let done = move || invite.value().get().and_then(Result::ok);
    view! {
        <section class="card invite" aria-labelledby="invite-title">
            <h2 id="invite-title">"Add a user"</h2>
            <ActionForm action=invite attr:class="form" attr:novalidate=true>
                <input type="hidden" name="entitlement" value=move || entitlement.get()/>
                <div class="field">
                    <label for="invite-email">"Email"</label>
                    <input id="invite-email" name="email" type="email" autocomplete="off"
                        aria-invalid=move || field_error("email")().is_some().to_string()/>
                    <p class="field-error">{field_error("email")}</p>
                </div>
                <div class="field">
                    <label for="invite-name">"Name"</label>
                    <input id="invite-name" name="name" type="text" autocomplete="off"
                        aria-invalid=move || field_error("name")().is_some().to_string()/>
                    <p class="field-error">{field_error("name")}</p>
                </div>
                <label class="check"><input type="checkbox" name="seat" checked=true/>" Give a seat"</label>
                <label class="check"><input type="checkbox" name="admin"/>" Administrator"</label>
                <p class="form-error" role="alert">{form_error}</p>
                <button type="submit" class="button primary" disabled=move || invite.pending().get()>"Create invitation"</button>
            </ActionForm>
            {move || done().map(|inv| view! { <InvitationLink inv/> })}
        </section>
    }
}

/// A link made by "New link", shown once.
#[component]
fn ReissuedLink(reissue: ServerAction<ReissueInvitation>) -> impl IntoView {
    move || reissue.value().get().and_then(Result::ok).map(|inv| view! { <section class="card invite"><InvitationLink inv/></section> })
}

/// A password reset link made by "Reset link", shown once.
#[component]
fn ResetLink(reset: ServerAction<IssuePasswordReset>) -> impl IntoView {
    move || {
        reset.value().get().and_then(Result::ok).map(|inv| {
            let link = format!("{}{}", crate::components::format::page_origin(), inv.path);
            view! {
                <section class="card invite">
                    <div class="invitation" role="status">
                        <div class="field">
                            <label for="reset-link">"Password reset link"</label>
                            <input id="reset-link" type="text" readonly=true value=link/>
                        </div>
                        <p>
                            {format!(
                                "Send it to {} yourself: it works once, for {RESET_HOURS} hours. Once they set a new password, every sign-in they had ends.",
                                inv.email
                            )}
                        </p>
                    </div>
                </section>
            }
        })
    }
}

/// The link to copy and send; it is shown only now (only its hash is kept).
#[component]
fn InvitationLink(inv: Invitation) -> impl IntoView {
    let origin = crate::components::format::page_origin();
    let link = format!("{origin}{}", inv.path);
    let seat_note = (!inv.seated).then_some(" No seat was given: assign one when a seat is free.");
    view! {
        <div class="invitation" role="status">
            <div class="field">
                <label for="invitation-link">"Invitation link"</label>
                <input id="invitation-link" type="text" readonly=true value=link/>
            </div>
            <p>
                {format!("Valid until {}, usable once. Copy the link and send it to {}.", date(inv.expires_on), inv.email)}
                {seat_note}
            </p>
        </div>
    }
}

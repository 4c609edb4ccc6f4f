//! The document shell, the root component and the one route table.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::approvals::pages::{ApprovalsPage, RequestDetailPage};
use crate::audit::pages::AuditPage;
use crate::auth::pages::{AccountPage, HomePage, SignInPage};
use crate::catalog::pages::CatalogPage;
use crate::components::layout::NotFound;
use crate::customers::pages::{CustomerPage, CustomersPage, ViewAsPage};
use crate::demo::pages::DemoPage;
use crate::entitlements::pages::EntitlementsPage;
use crate::instances::pages::InstancesPage;
use crate::renewals::pages::RenewalsPage;
use crate::requests::pages::{NewRequestPage, RequestsPage};
use crate::seats::pages::{InvitePage, SeatsPage};
use crate::tiers::pages::TiersPage;
use crate::usage::pages::UsagePage;

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The root component: styles, the auth context and the routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Lets browser tests (and people) know when the page has become interactive.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    // Pages render whole on the server (SsrMode::Async): they read complete without
    // JavaScript, and a redirect to sign-in is a real 302.
    view! {
        <Stylesheet id="leptos" href="/pkg/tessera.css"/>
        <Title formatter=|title: String| if title.is_empty() { "Tessera".to_owned() } else { format!("{title} · Tessera") }/>
        <Router>
            <crate::components::layout::AuthProvider>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") ssr=SsrMode::Async view=HomePage/>
                    <Route path=path!("/signin") ssr=SsrMode::Async view=SignInPage/>
                    <Route path=path!("/account") ssr=SsrMode::Async view=AccountPage/>
                    <Route path=path!("/entitlements") ssr=SsrMode::Async view=EntitlementsPage/>
                    <Route path=path!("/entitlements/:id/seats") ssr=SsrMode::Async view=SeatsPage/>
                    <Route path=path!("/usage") ssr=SsrMode::Async view=UsagePage/>
                    <Route path=path!("/renewals") ssr=SsrMode::Async view=RenewalsPage/>
                    <Route path=path!("/instances") ssr=SsrMode::Async view=InstancesPage/>
                    <Route path=path!("/requests") ssr=SsrMode::Async view=RequestsPage/>
                    <Route path=path!("/requests/new") ssr=SsrMode::Async view=NewRequestPage/>
                    <Route path=path!("/invite/:token") ssr=SsrMode::Async view=InvitePage/>
                    <Route path=path!("/approvals") ssr=SsrMode::Async view=ApprovalsPage/>
                    <Route path=path!("/approvals/:id") ssr=SsrMode::Async view=RequestDetailPage/>
                    <Route path=path!("/audit") ssr=SsrMode::Async view=AuditPage/>
                    <Route path=path!("/tiers") ssr=SsrMode::Async view=TiersPage/>
                    <Route path=path!("/demo") ssr=SsrMode::Async view=DemoPage/>
                    <Route path=path!("/customers") ssr=SsrMode::Async view=CustomersPage/>
                    <Route path=path!("/customers/:slug") ssr=SsrMode::Async view=CustomerPage/>
                    <Route path=path!("/customers/:slug/portal") ssr=SsrMode::Async view=ViewAsPage/>
                    <Route path=path!("/catalog") ssr=SsrMode::Async view=CatalogPage/>
                </Routes>
            </crate::components::layout::AuthProvider>
        </Router>
    }
}

//! The document shell, the root component and the one route table.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::approvals::pages::{ApprovalsPage, RequestDetailPage};
use crate::audit::pages::AuditPage;
use crate::auth::pages::{AccountPage, HomePage, SignInPage};
use crate::catalog::pages::CatalogPage;
use crate::components::layout::NotFound;
use crate::customers::pages::{CustomerPage, CustomersPage, ViewAsPage};
use crate::dashboard::pages::DashboardPage;
use crate::demo::pages::DemoPage;
use crate::entitlements::pages::EntitlementsPage;
use crate::instances::pages::InstancesPage;
use crate::renewals::pages::RenewalsPage;
use crate::requests::pages::{NewRequestPage, RequestsPage};
use crate::seats::pages::{InvitePage, SeatsPage};
use crate::sso::pages::SsoPage;
use crate::tiers::pages::TiersPage;
use crate::usage::pages::UsagePage;
use crate::webhooks::pages::{WebhookDeliveryPage, WebhookPage, WebhooksPage};

/// The stylesheet's address: named by its content when the site was built so (its
/// `hash.txt`), else `/pkg/tessera.css`.
fn stylesheet(options: &LeptosOptions) -> String {
    #[cfg(feature = "ssr")]
    if options.hash_files {
        // Read once per hash file (a process serves one site; tests start several).
        static HASHES: std::sync::Mutex<Vec<(std::sync::Arc<str>, Option<String>)>> = std::sync::Mutex::new(Vec::new());
        let mut hashes = HASHES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let known = hashes.iter().find(|(file, _)| *file == options.hash_file).map(|(_, hash)| hash.clone());
        let hash = known.unwrap_or_else(|| {
            let text = std::fs::read_to_string(options.hash_file.as_ref()).unwrap_or_default();
            let hash = text.lines().find_map(|l| l.strip_prefix("css:")).map(|h| h.trim().to_owned());
            hashes.push((options.hash_file.clone(), hash.clone()));
            hash
        });
        if let Some(hash) = hash {
            return format!("/{}/tessera.{hash}.css", options.site_pkg_dir);
        }
    }
    format!("/{}/tessera.css", options.site_pkg_dir)
}

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <link rel="stylesheet" id="leptos" href=stylesheet(&options)/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
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

    // Pages render whole on the server (SsrMode::Async): they read complete without
    // JavaScript, and a redirect to sign-in is a real 302.
    view! {
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
                    <Route path=path!("/dashboard") ssr=SsrMode::Async view=DashboardPage/>
                    <Route path=path!("/customers") ssr=SsrMode::Async view=CustomersPage/>
                    <Route path=path!("/customers/:slug") ssr=SsrMode::Async view=CustomerPage/>
                    <Route path=path!("/customers/:slug/portal") ssr=SsrMode::Async view=ViewAsPage/>
                    <Route path=path!("/catalog") ssr=SsrMode::Async view=CatalogPage/>
                    <Route path=path!("/sso") ssr=SsrMode::Async view=SsoPage/>
                    <Route path=path!("/webhooks") ssr=SsrMode::Async view=WebhooksPage/>
                    <Route path=path!("/webhooks/:id") ssr=SsrMode::Async view=WebhookPage/>
                    <Route path=path!("/webhooks/:id/deliveries/:delivery") ssr=SsrMode::Async view=WebhookDeliveryPage/>
                </Routes>
            </crate::components::layout::AuthProvider>
        </Router>
        <crate::components::outcome::RetainedFields/>
    }
}

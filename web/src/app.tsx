// The shell of the app: the route, the header (the territory's name, the
// sync state as an icon with words), the bottom navigation (Agenda, Découvrir, the
// territory's page, Moi), and which screen to show. Routes live in the
// URL's hash (`#/territoire/<document>/…`, `#/moi`), so every link opens
// the same cached shell, offline included. A new screen opens at the top
// with the focus on its title. Everything a screen shows comes from
// sync-core's read model, through the driver.
//
// Does not: lay out the screens (each does), or word dates (sync-core).

import { useEffect, useState } from "preact/hooks";
import type { Driver, Status } from "./driver";
import { Icone, type NomIcone } from "./icones";
import { dernierTerritoire, heureDe, retenirDernier } from "./modele";
import { Accueil } from "./ecrans/accueil";
import { FicheAction } from "./ecrans/fiche-action";
import { Moi } from "./ecrans/moi";
import { ProfilTerritoire } from "./ecrans/profil";
import { Rejoindre } from "./ecrans/rejoindre";
import { Territoire } from "./ecrans/territoire";
import { annoncerOrganisateur, paresseux } from "./paresseux";
import { lireRoute } from "./route";

// Organisers' screens: separate chunks, loaded when opened (paresseux.tsx).
const Inviter = paresseux(() => import("./ecrans/invitations").then((m) => m.Inviter));
const NouvelleAction = paresseux(() => import("./ecrans/nouvelle-action").then((m) => m.NouvelleAction));
const ModifierAction = paresseux(() => import("./ecrans/action-modifier").then((m) => m.ModifierAction));
// Screens no first visit needs: separate chunks too, loaded only when opened.
const Decouvrir = paresseux(() => import("./ecrans/decouvrir").then((m) => m.Decouvrir), "a-la-demande");
const ActionPubliqueEcran = paresseux(
  () => import("./ecrans/action-publique").then((m) => m.ActionPubliqueEcran),
  "a-la-demande",
);
// Shared by organisers (loaded ahead for them) and residents.
const Acteurs = paresseux(() => import("./ecrans/acteurs").then((m) => m.Acteurs), "partage");
const Decisions = paresseux(() => import("./ecrans/decisions").then((m) => m.Decisions), "partage");
const Gouvernance = paresseux(() => import("./ecrans/gouvernance").then((m) => m.Gouvernance), "partage");
const Engagements = paresseux(() => import("./ecrans/engagements").then((m) => m.Engagements), "partage");
// Experience sheets (issue 18): the list for everyone, the editor and
// the acceptance for organisers, the published sheet when opened.
const Fiches = paresseux(() => import("./ecrans/fiches").then((m) => m.Fiches), "partage");
const FicheEditeur = paresseux(() => import("./ecrans/fiche-editeur").then((m) => m.FicheEditeur));
const AccepterFiche = paresseux(() => import("./ecrans/fiche-accepter").then((m) => m.AccepterFiche));
const FicheLecture = paresseux(() => import("./ecrans/fiche-lecture").then((m) => m.FicheLecture), "a-la-demande");
const Historique = paresseux(() => import("./ecrans/historique").then((m) => m.Historique), "a-la-demande");

function useRoute(): string[] {
  const [route, setRoute] = useState(lireRoute);
  useEffect(() => {
    const onChange = () => setRoute(lireRoute());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

function useDriver(driver: Driver): Status {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const unsubscribe = driver.subscribe(() => setVersion((v) => v + 1));
    // What changed between the first render and this subscription (a
    // document loaded from IndexedDB, say) would otherwise never show.
    setVersion((v) => v + 1);
    return unsubscribe;
  }, [driver]);
  return driver.status;
}

/**
 * Which screen a route shows, for the scroll and focus reset: the theme
 * filter of the agenda and the département filter of « Découvrir » stay
 * on the same screen.
 */
function cleEcran(route: string[]): string {
  if (route[0] === "territoire" && route[2] === "theme") return route.slice(0, 2).join("/");
  if (route[0] === "decouvrir" && route[1] === "departement") return "decouvrir";
  return route.join("/");
}

/**
 * A new screen opens at the top, with the focus on its title (`h1`, made
 * focusable), so keyboard and screen reader users start there too. The
 * title may come a little later (a document loading): it is waited for,
 * briefly.
 */
function useNouvelEcran(cle: string): void {
  const [premier, setPremier] = useState(true);
  useEffect(() => {
    if (premier) {
      setPremier(false);
      return;
    }
    window.scrollTo(0, 0);
    const main = document.getElementById("contenu");
    const focaliser = () => {
      const h1 = main?.querySelector("h1");
      if (!h1) return false;
      h1.setAttribute("tabindex", "-1");
      h1.focus({ preventScroll: true });
      return true;
    };
    if (focaliser() || !main) return;
    const observateur = new MutationObserver(() => focaliser() && observateur.disconnect());
    observateur.observe(main, { childList: true, subtree: true });
    const fin = setTimeout(() => observateur.disconnect(), 5000);
    return () => {
      observateur.disconnect();
      clearTimeout(fin);
    };
  }, [cle]);
}

export function App({ driver }: { driver: Driver }) {
  const status = useDriver(driver);
  const route = useRoute();
  const doc = route[0] === "territoire" ? route[1] : undefined;
  // An invitation link opens its territory once the invitation is
  // remembered: a first download needs its token.
  const invitation = route[2] === "invitation";
  useEffect(() => {
    if (doc && !invitation) driver.openDocument(doc);
  }, [driver, doc, invitation]);
  // A territory's sheets (`#/t/<id>/fiches…`): its organisers' device
  // opens it; anyone else reads the published sheets from the relay,
  // without downloading the territory.
  const fiches = route[0] === "t" && route[1] !== undefined && route[2] === "fiches" ? route[1] : undefined;
  const organiseFiches = fiches !== undefined && driver.isValidDocument(fiches) && driver.organise(fiches);
  useEffect(() => {
    if (fiches && organiseFiches) driver.openDocument(fiches);
  }, [driver, fiches, organiseFiches]);
  // The connection opens (once; it then stays open) away from an
  // invitation link, whose screen decides first (joined, or the invitation
  // held kept): a socket without the link's token would be refused by a
  // relay that takes only invitations, and counted against this address.
  useEffect(() => {
    if (!invitation) driver.connect();
  }, [driver, invitation]);
  const valide = doc !== undefined && driver.isValidDocument(doc);
  useEffect(() => {
    if (valide && !invitation) retenirDernier(doc);
  }, [doc, valide, invitation]);
  // This device may edit the territory shown (an organiser's invitation
  // joined since the page started, a territory created here, an open
  // relay): the organiser screens load now, while the network is there,
  // for editing offline later.
  const organise = valide && !invitation && driver.peutModifier(doc);
  useEffect(() => {
    if (organise) annoncerOrganisateur();
  }, [organise]);
  useNouvelEcran(cleEcran(route));
  let page;
  if (doc && !valide) {
    page = (
      <p role="alert">
        Ce lien n'est pas valide&nbsp;: il ne désigne aucun territoire. Vérifiez qu'il a été copié en entier.
      </p>
    );
  } else if (doc) {
    if (invitation && (route[3] === "organisateur" || route[3] === "habitant") && route[4])
      page = <Rejoindre driver={driver} invitation={{ doc, role: route[3], token: route[4] }} />;
    else if (route[2] === "nouvelle-action") page = <NouvelleAction driver={driver} doc={doc} />;
    else if (route[2] === "action" && route[3] && route[4] === "modifier")
      page = <ModifierAction key={route[3]} driver={driver} doc={doc} id={route[3]} />;
    else if (route[2] === "action" && route[3]) page = <FicheAction key={route[3]} driver={driver} doc={doc} id={route[3]} />;
    else if (route[2] === "profil") page = <ProfilTerritoire driver={driver} doc={doc} />;
    else if (route[2] === "acteurs") page = <Acteurs driver={driver} doc={doc} />;
    else if (route[2] === "decisions") page = <Decisions driver={driver} doc={doc} />;
    else if (route[2] === "historique") page = <Historique driver={driver} doc={doc} />;
    else if (route[2] === "gouvernance") page = <Gouvernance driver={driver} doc={doc} />;
    else if (route[2] === "engagements") page = <Engagements driver={driver} doc={doc} />;
    else if (route[2] === "inviter") page = <Inviter driver={driver} doc={doc} />;
    else page = <Territoire driver={driver} doc={doc} theme={route[2] === "theme" ? route[3] : undefined} />;
  } else if (fiches !== undefined) {
    if (route[3] && organiseFiches) page = <FicheEditeur key={route[3]} driver={driver} doc={fiches} id={route[3]} />;
    else if (route[3]) page = <FicheLecture key={route[3]} driver={driver} territoire={fiches} id={route[3]} />;
    else page = <Fiches key={fiches} driver={driver} doc={fiches} />;
  } else if (route[0] === "fiches" && route[1] === "accepter" && route[2] && route[3]) {
    page = <AccepterFiche driver={driver} fiche={route[2]} territoire={route[3]} />;
  } else if (route[0] === "moi") {
    page = <Moi driver={driver} />;
  } else if (route[0] === "decouvrir" && route[1] === "action" && route[2] && route[3]) {
    page = <ActionPubliqueEcran key={route.join("/")} driver={driver} territoire={route[2]} action={route[3]} />;
  } else if (route[0] === "decouvrir") {
    page = <Decouvrir driver={driver} departement={route[1] === "departement" ? route[2] : undefined} />;
  } else {
    page = <Accueil driver={driver} />;
  }
  const nom = valide ? driver.agenda(doc)?.profil?.nom : organiseFiches ? driver.agenda(fiches)?.profil?.nom : undefined;
  const cible = valide && !invitation ? doc : organiseFiches ? fiches : dernierTerritoire();
  const rubrique: Rubrique =
    route[0] === "moi" || route[0] === "decouvrir" ? route[0] : fiches !== undefined ? "territoire" : ["profil", "acteurs", "decisions", "historique", "gouvernance", "engagements"].includes(route[2]) ? "territoire" : "agenda";
  return (
    <>
      <header class="entete">
        <div class="entete-ligne">
          <p class="entete-titre">
            <a href="#/" class="marque">
              Essaim
            </a>
            {nom && (
              <span class="entete-territoire" data-testid="entete-territoire">
                {nom}
              </span>
            )}
          </p>
          <Statut status={status} />
        </div>
      </header>
      <main id="contenu">
        {status.invitationRefused && (
          <p role="alert" class="erreur" data-testid="invitation-refusee">
            {status.invitationRefused}
          </p>
        )}
        {doc && driver.creations.waiting(doc) && (
          <p role="status" data-testid="non-enregistre">
            Pas encore enregistré sur le relais&nbsp;: envoi dès le retour du réseau.
          </p>
        )}
        {page}
      </main>
      <Navigation rubrique={rubrique} doc={cible} />
    </>
  );
}

type Rubrique = "agenda" | "decouvrir" | "territoire" | "moi";

/** The bottom navigation: the agenda and page of the territory at hand (or the last one), and Moi. */
function Navigation({ rubrique, doc }: { rubrique: Rubrique; doc?: string }) {
  const liens: { id: Rubrique; nom: string; icone: NomIcone; href?: string }[] = [
    { id: "agenda", nom: "Agenda", icone: "agenda", href: doc ? `#/territoire/${doc}` : "#/" },
    { id: "decouvrir", nom: "Découvrir", icone: "decouvrir", href: "#/decouvrir" },
    { id: "territoire", nom: "Territoire", icone: "territoire", href: doc && `#/territoire/${doc}/profil` },
    { id: "moi", nom: "Moi", icone: "moi", href: "#/moi" },
  ];
  return (
    <nav class="barre-bas" aria-label="Navigation principale">
      <ul>
        {liens
          .filter((l) => l.href)
          .map((l) => (
            <li key={l.id}>
              <a href={l.href} aria-current={rubrique === l.id ? "page" : undefined} data-testid={`nav-${l.id}`}>
                <Icone nom={l.icone} taille={22} />
                <span>{l.nom}</span>
              </a>
            </li>
          ))}
      </ul>
    </nav>
  );
}

/** The sync state in one word with its icon, then the details in small text. */
function Statut({ status }: { status: Status }) {
  const [etat, icone]: [string, NomIcone] = status.stopped
    ? ["Hors ligne", "alerte"]
    : !status.online
      ? ["Hors ligne", "hors_ligne"]
      : status.unacknowledged > 0 || status.download !== undefined
        ? ["Synchronisation…", "en_cours"]
        : ["Synchronisé", "synchronise"];
  const heure = status.lastSync ? heureDe(status.lastSync) : undefined;
  return (
    <div class="statut" role="status" aria-live="polite">
      <p class={`etat-sync ${status.online ? "en-ligne" : "hors-ligne"}`} data-testid="etat-sync">
        <Icone nom={icone} taille={20} />
        <span>{etat}</span>
      </p>
      <p class="statut-details">
        <span>{heure ? `synchronisé à ${heure}` : "jamais synchronisé"}</span>
        {" · "}
        <span data-testid="en-attente">
          {status.unacknowledged === 0
            ? "aucune modification en attente"
            : `${status.unacknowledged} modification${status.unacknowledged > 1 ? "s" : ""} en attente`}
        </span>
        {status.download !== undefined && (
          <>
            {" · "}
            <span data-testid="telechargement">Téléchargement du territoire&nbsp;: {status.download}&nbsp;%</span>
          </>
        )}
        {status.stopped && (
          <>
            {" · "}
            <span class="erreur" data-testid="arret">
              {status.stopped}
            </span>
          </>
        )}
      </p>
    </div>
  );
}

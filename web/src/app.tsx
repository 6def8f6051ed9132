// The shell of the app: the route, the status bar, and which screen to
// show. Routes live in the URL's hash (`#/territoire/<document>/…`), so
// every link opens the same cached shell, offline included. Everything a
// screen shows comes from sync-core's read model, through the driver.

import { useEffect, useState } from "preact/hooks";
import type { Driver, Status } from "./driver";
import { Accueil } from "./ecrans/accueil";
import { ModifierAction } from "./ecrans/action-modifier";
import { FicheAction } from "./ecrans/fiche-action";
import { Inviter } from "./ecrans/invitations";
import { NouvelleAction } from "./ecrans/nouvelle-action";
import { ProfilTerritoire } from "./ecrans/profil";
import { Rejoindre } from "./ecrans/rejoindre";
import { Territoire } from "./ecrans/territoire";

function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
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
  // The connection opens (once; it then stays open) away from an
  // invitation link, whose screen decides first (joined, or the invitation
  // held kept): a socket without the link's token would be refused by a
  // relay that takes only invitations, and counted against this address.
  useEffect(() => {
    if (!invitation) driver.connect();
  }, [driver, invitation]);
  let page;
  if (doc && !driver.isValidDocument(doc)) {
    page = (
      <p role="alert">
        Ce lien n'est pas valide : il ne désigne aucun territoire. Vérifiez qu'il a été copié en entier.
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
    else if (route[2] === "inviter") page = <Inviter driver={driver} doc={doc} />;
    else page = <Territoire driver={driver} doc={doc} theme={route[2] === "theme" ? route[3] : undefined} />;
  } else {
    page = <Accueil driver={driver} />;
  }
  return (
    <>
      <header>
        <a href="#/" class="marque">
          Essaim
        </a>
        <Statut status={status} />
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
    </>
  );
}

function Statut({ status }: { status: Status }) {
  const heure = status.lastSync
    ? new Date(status.lastSync).toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" })
    : undefined;
  return (
    <p class="statut" role="status" aria-live="polite">
      <span class={status.online ? "en-ligne" : "hors-ligne"}>{status.online ? "En ligne" : "Hors ligne"}</span>
      {" · "}
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
          <span data-testid="telechargement">Téléchargement du territoire : {status.download}&nbsp;%</span>
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
  );
}

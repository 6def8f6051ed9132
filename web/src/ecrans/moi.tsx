// "Moi": what this device keeps. The territories it holds, each with the
// role its invitation gives (organisateur, habitant, or a demonstration
// read without one), and leaving one: after a confirmation, the driver
// forgets its data and its invitation (`Driver.quitter`), then the page
// reloads without it. Installing the app, when the browser offers it
// (ecrans/avis-application.tsx). Also how the look is chosen (the system's light or
// dark mode) and what Essaim is.
//
// Does not: delete anything on the relay (the territory lives on for its
// other members), or revoke the invitation (its organisers do).

import { useEffect, useState } from "preact/hooks";
import { Confirmation } from "../confirmation";
import type { Driver } from "../driver";
import { MonNom } from "./mon-nom";
import { Icone } from "../icones";
import { retenirDernier } from "../modele";
import { Installation } from "./avis-application";
import type { TerritoireConnu } from "../storage";

/** How a territory is held on this device, in words. */
function role(t: TerritoireConnu): string {
  if (t.role === "organisateur") return "Organisateur·rice\u00a0: vous modifiez l'agenda";
  if (t.role === "habitant") return "Habitant·e\u00a0: vous lisez l'agenda";
  if (t.demonstration) return "Démonstration\u00a0: lecture seule";
  return "Créé sur cet appareil";
}

export function Moi({ driver }: { driver: Driver }) {
  const [territoires, setTerritoires] = useState<TerritoireConnu[]>();
  const [aQuitter, setAQuitter] = useState<TerritoireConnu>();
  const [erreur, setErreur] = useState<string>();
  useEffect(() => {
    document.title = "Moi – Essaim";
    driver.storage.territoires().then(setTerritoires);
  }, [driver]);

  const quitter = async (t: TerritoireConnu) => {
    try {
      await driver.quitter(t.doc);
      retenirDernier(t.doc, true);
    } catch {
      setErreur("Impossible d'effacer ce territoire de cet appareil (stockage indisponible\u00a0?). Rechargez la page, puis réessayez.");
      return;
    }
    // The repo in memory still holds it: a fresh start forgets it.
    location.hash = "#/moi";
    location.reload();
  };

  return (
    <>
      <h1>Moi</h1>
      <MonNom driver={driver} />
      <section aria-labelledby="titre-mes-territoires">
        <h2 id="titre-mes-territoires">Mes territoires sur cet appareil</h2>
        {territoires === undefined ? null : territoires.length === 0 ? (
          <p>
            Aucun territoire sur cet appareil. <a href="#/">Créer ou rejoindre un territoire</a>
          </p>
        ) : (
          <ul class="cartes" data-testid="mes-territoires">
            {territoires.map((t) => (
              <li key={t.doc} class="carte carte-territoire" data-testid="mon-territoire">
                <a class="carte-lien" href={`#/territoire/${t.doc}`}>
                  <Icone nom="territoire" />
                  <span>{t.nom || "Territoire sans nom"}</span>
                </a>
                <p class="aide">{role(t)}</p>
                <button type="button" class="secondaire" onClick={() => setAQuitter(t)}>
                  <Icone nom="quitter" />
                  Quitter ce territoire
                </button>
              </li>
            ))}
          </ul>
        )}
        {erreur && (
          <p role="alert" class="erreur">
            {erreur}
          </p>
        )}
      </section>
      <Installation />
      <section aria-labelledby="titre-apparence">
        <h2 id="titre-apparence">Apparence</h2>
        <p>Essaim suit le réglage de votre appareil&nbsp;: clair le jour, sombre si vous l'avez choisi.</p>
      </section>
      <section aria-labelledby="titre-a-propos">
        <h2 id="titre-a-propos">À propos</h2>
        <p>
          Essaim est l'agenda partagé des territoires en transition. Il fonctionne hors ligne&nbsp;: vos territoires restent
          sur cet appareil et se synchronisent avec leur relais dès que le réseau revient.
        </p>
      </section>
      {aQuitter && (
        <Confirmation
          titre={`Quitter «\u00a0${aQuitter.nom || "ce territoire"}\u00a0»\u00a0?`}
          texte="Son agenda et votre invitation seront effacés de cet appareil. Le territoire continue pour ses autres membres. Pour y revenir, il vous faudra un nouveau lien d'invitation."
          confirmer="Quitter le territoire"
          danger
          testid="confirmer-quitter"
          repondre={(oui) => {
            const t = aQuitter;
            setAQuitter(undefined);
            if (oui) void quitter(t);
          }}
        />
      )}
    </>
  );
}

// « Engagements » (`#/territoire/<doc>/engagements`): the territory's
// commitments to the Pacte pour la Transition (measure and level) and the
// national networks that support it, with their role; both shown on the
// public page. Organisers add and remove them.
//
// Does not: give the Pacte measures their official titles (not verified
// in Essaim yet: the measure number is shown), or check a measure or level
// (sync-core does, and says why).

import { useState } from "preact/hooks";
import type { Driver } from "../driver";
import { annoncer, ChampChoix, Refuse } from "../formulaire";
import type { Engagement, LienReseau, Reseau, RoleReseau } from "../genere/agenda";
import { Icone } from "../icones";
import { libelles } from "../modele";
import { CHARGEMENT, RetourTerritoire, useTerritoire } from "./ecran-territoire";

const MESURES = Object.fromEntries(
  Array.from({ length: 32 }, (_, i) => {
    const code = `M${String(i + 1).padStart(2, "0")}`;
    return [code, `Mesure ${i + 1}`];
  }),
);
const NIVEAUX = { "1": "Niveau 1", "2": "Niveau 2", "3": "Niveau 3" };

export function Engagements({ driver, doc }: { driver: Driver; doc: string }) {
  const { agenda, organisateur, editer, refus } = useTerritoire(driver, doc);
  if (!agenda) return CHARGEMENT;
  const l = libelles();
  const engagements = agenda.profil?.engagements_pacte ?? [];
  const reseaux = agenda.profil?.reseaux ?? [];
  const definirEngagements = (liste: Engagement[]) => editer({ type: "modifier_profil", champs: { engagements_pacte: liste } });
  const definirReseaux = (liste: LienReseau[]) => editer({ type: "modifier_profil", champs: { reseaux: liste } });
  return (
    <>
      <RetourTerritoire doc={doc} />
      <h1>Engagements</h1>
      <Refuse refus={refus} />
      <section class="carte" aria-labelledby="pacte">
        <h2 id="pacte">Pacte pour la Transition</h2>
        {engagements.length === 0 ? (
          <p>Aucun engagement pour l'instant.</p>
        ) : (
          <ul class="liste" data-testid="engagements">
            {engagements.map((e) => (
              <li key={e.mesure}>
                Mesure {Number(e.mesure.slice(1))}, niveau {e.niveau}
                {organisateur && (
                  <button
                    type="button"
                    class="discret"
                    aria-label={`Retirer la mesure ${Number(e.mesure.slice(1))}`}
                    onClick={() => definirEngagements(engagements.filter((x) => x.mesure !== e.mesure))}
                  >
                    <Icone nom="fermer" />
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
        {organisateur && (
          <NouvelEngagement
            ajouter={(e) =>
              definirEngagements([...engagements.filter((x) => x.mesure !== e.mesure), e].sort((a, b) => a.mesure.localeCompare(b.mesure)))
            }
          />
        )}
      </section>
      <section class="carte" aria-labelledby="reseaux">
        <h2 id="reseaux">Réseaux qui accompagnent le territoire</h2>
        {reseaux.length === 0 ? (
          <p>Aucun réseau pour l'instant.</p>
        ) : (
          <ul class="liste" data-testid="reseaux">
            {reseaux.map((r) => (
              <li key={r.reseau}>
                {l.reseau[r.reseau]} ({l.role_reseau[r.role].toLowerCase()})
                {organisateur && (
                  <button
                    type="button"
                    class="discret"
                    aria-label={`Retirer ${l.reseau[r.reseau]}`}
                    onClick={() => definirReseaux(reseaux.filter((x) => x.reseau !== r.reseau))}
                  >
                    <Icone nom="fermer" />
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
        {organisateur && (
          <NouveauReseau ajouter={(r) => definirReseaux([...reseaux.filter((x) => x.reseau !== r.reseau), r])} />
        )}
      </section>
    </>
  );
}

function NouvelEngagement({ ajouter }: { ajouter: (e: Engagement) => boolean }) {
  const [mesure, setMesure] = useState("M01");
  const [niveau, setNiveau] = useState<keyof typeof NIVEAUX>("1");
  return (
    <form
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (ajouter({ mesure, niveau: Number(niveau) })) annoncer(`Mesure ${Number(mesure.slice(1))} ajoutée.`);
      }}
    >
      <ChampChoix id="engagement-mesure" label="Mesure du Pacte" valeur={mesure} choix={MESURES} onChoix={setMesure} />
      <ChampChoix id="engagement-niveau" label="Niveau d'engagement" valeur={niveau} choix={NIVEAUX} onChoix={setNiveau} />
      <button type="submit" class="secondaire">
        Ajouter l'engagement
      </button>
    </form>
  );
}

function NouveauReseau({ ajouter }: { ajouter: (r: LienReseau) => boolean }) {
  const l = libelles();
  const [reseau, setReseau] = useState<Reseau>(Object.keys(l.reseau)[0] as Reseau);
  const [role, setRole] = useState<RoleReseau>(Object.keys(l.role_reseau)[0] as RoleReseau);
  return (
    <form
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (ajouter({ reseau, role, depuis: null })) annoncer(`${l.reseau[reseau]} ajouté.`);
      }}
    >
      <ChampChoix id="reseau-nom" label="Réseau" valeur={reseau} choix={l.reseau} onChoix={setReseau} />
      <ChampChoix id="reseau-role" label="Son rôle" valeur={role} choix={l.role_reseau} onChoix={setRole} />
      <button type="submit" class="secondaire">
        Ajouter le réseau
      </button>
    </form>
  );
}
